// Package agentclient is the control-plane side of dbplane's agent API.
//
// Client calls one agent over mTLS and implements dbplane.HostAgent; Dialer
// finds a host's agent and implements dbplane.AgentDialer, which the task
// engine's steps use. PackageServer serves uploaded package files to
// agents from the control plane. The host side is package agent; the wire
// types both sides share are package agent/wire, so that neither side
// imports the other.
package agentclient
