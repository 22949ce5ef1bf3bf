// Package enginetest holds the fakes every engine's unit tests share: a
// host agent with a pretend file system, a dialer, a store of one task,
// and helpers that run a plan's steps as the task engine would. Engines
// add what is their own (the answers of their programs) on top.
package enginetest
