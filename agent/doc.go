// Package agent is dbplane's per-host agent and its control-plane client.
//
// Host implements dbplane.HostAgent on the machine it runs on: it installs
// OS packages, creates users, directories and files, runs commands as OS
// users, and supervises database processes, which it re-adopts after its own
// restart. Server serves a Host over an mTLS HTTP API that only the control
// plane may call; Client and Dialer are the control plane's side of that
// API, and implement dbplane.HostAgent and dbplane.AgentDialer.
//
// The agent knows no database engine: engine packages on the control plane
// compose these generic, idempotent operations into task steps.
package agent
