// Package agent is the host side of dbplane's agent: the process that runs
// on every database host.
//
// Host implements dbplane.HostAgent on the machine it runs on: it installs
// OS packages, creates users, directories and files, runs commands as OS
// users, and supervises database processes, which it re-adopts after its own
// restart. Server serves a Host over an mTLS HTTP API that only the control
// plane may call; Join makes the agent a member of a control plane through
// a Joiner that cmd/dbplane wires. The control plane's side of the API (its
// client and dialer) is package agentclient; what both sides agree on is
// package agent/wire, so that the agent's binary carries no control-plane
// code.
//
// The agent knows no database engine: engine packages on the control plane
// compose these generic, idempotent operations into task steps.
package agent
