// Package enginekit is what every dbplane engine shares: the step
// framework that turns a task engine's subtask into an engine's step, the
// host steps (precheck, packages, directories, TLS material, stop, remove)
// and their plans, the scaffolding of the power, password and parameter
// plans, checks of a parameter change, secrets, waits, endpoints, and the
// helpers that run commands on a host through its agent.
//
// An engine keeps only what is its own: its configuration, its SQL or
// commands, its node layout and the order of its steps. The kit keeps log
// and error texts as the engines had them, since operators and tests read
// them.
package enginekit
