package enginekit

import (
	"context"
	"path"

	"github.com/dbplane/dbplane"
)

// Names of the host steps every engine has. An engine's handler of a step
// is named "<engine>.<step>": "postgresql.precheck_host".
const (
	StepPrecheck = "precheck_host"
	StepInstall  = "install_packages"
	StepPrepare  = "prepare_directories"
	StepTLS      = "write_tls"
	StepStop     = "stop_node"
	StepRemove   = "remove_node"
)

// Handler returns the handler name of a host step of engine:
// "<engine>.<step>", as HostHandlers registers it.
func Handler(engine, step string) string { return engine + "." + step }

// Host is where an engine's node sits on its host: what the host steps act
// on. The node's data directory and address are the step's; its home is
// Home of the node.
type Host struct {
	// Engine is the engine's name in the catalog, Product its name in
	// errors ("PostgreSQL"), Version the cluster's version.
	Engine, Product, Version string
	// Packages are installed beside the catalog's packages of the version.
	Packages []string
	// User owns the node's processes, directories and files.
	User string
	// InstanceID names the node's process for the agent.
	InstanceID string
	// Socket is the path of the node's Unix socket; "" when it has none.
	Socket string
	// Ports are the TCP ports the node listens on.
	Ports []int
	// Mode is the mode of the data directory, the home and Dirs.
	Mode uint32
	// Dirs are the further directories the node needs, parents first.
	Dirs []string
	// Cert, Key and CA are the paths of the node's TLS files.
	Cert, Key, CA string
}

// HostStep is an engine's step as the host steps see it: the kit's Step,
// which the engine's step embeds, and where its node sits.
type HostStep interface {
	Kit() *Step
	Host() Host
}

// Kit returns s: an engine's step that embeds a Step hands it over so.
func (s *Step) Kit() *Step { return s }

// hostSteps are the host steps, by name.
var hostSteps = map[string]func(Host, context.Context, *Step) error{
	StepPrecheck: Host.Precheck,
	StepInstall:  Host.Install,
	StepPrepare:  Host.Prepare,
	StepTLS:      Host.WriteTLS,
	StepStop:     Host.Stop,
	StepRemove:   Host.Remove,
}

// HostHandlers adds the handlers of the host steps of engine to handlers,
// named "<engine>.<step>", and returns it.
func HostHandlers[S HostStep](engine string, handlers map[string]func(context.Context, S) error) map[string]func(context.Context, S) error {
	for name, fn := range hostSteps {
		handlers[Handler(engine, name)] = func(ctx context.Context, s S) error { return fn(s.Host(), ctx, s.Kit()) }
	}
	return handlers
}

// Precheck verifies the host of the step's node can take it before
// anything is changed: every port of the node exists, the host's agent
// answers, it has the volume's disk free, the node's socket path fits, and
// nothing else listens on the node's ports.
func (h Host) Precheck(ctx context.Context, s *Step) error {
	if err := CheckPortRange(s, h.Ports); err != nil {
		return err
	}
	a, err := CheckHost(ctx, s)
	if err != nil {
		return err
	}
	if h.Socket != "" {
		if err := CheckSocketPath(s, h.Socket); err != nil {
			return err
		}
	}
	return CheckPorts(ctx, s, a, h.InstanceID, h.Ports)
}

// Install makes sure the packages of the cluster's version, and
// h.Packages, are installed on the node's host.
func (h Host) Install(ctx context.Context, s *Step) error {
	return Install(ctx, s, h.Engine, h.Product, h.Version, h.Packages...)
}

// Prepare creates the node's directories, owned by h.User: the data
// directory's parent 0755, then the data directory, the home and h.Dirs
// with h.Mode.
func (h Host) Prepare(ctx context.Context, s *Step) error {
	home := Home(s.Node)
	dirs := []Dir{{Path: path.Dir(s.Node.DataDir), Mode: 0o755}, {Path: s.Node.DataDir, Mode: h.Mode}, {Path: home, Mode: h.Mode}}
	for _, d := range h.Dirs {
		dirs = append(dirs, Dir{Path: d, Mode: h.Mode})
	}
	return Prepare(ctx, s, h.User, home, dirs)
}

// WriteTLS writes the node's certificate, its key and the CA certificate
// to h.Cert, h.Key and h.CA, owned by h.User, when its cluster has SSL on.
func (h Host) WriteTLS(ctx context.Context, s *Step) error {
	return WriteTLS(ctx, s, TLSFiles{Owner: h.User, Cert: h.Cert, Key: h.Key, CA: h.CA, Dir: Home(s.Node)})
}

// Stop stops the node: the undo of starting it.
func (h Host) Stop(ctx context.Context, s *Step) error { return Stop(ctx, s, h.InstanceID) }

// Remove stops the node if it runs and removes its data directory and
// home: the delete step of a node, and the undo of preparing its
// directories.
func (h Host) Remove(ctx context.Context, s *Step) error {
	return Remove(ctx, s, h.InstanceID, NodePaths(s.Node))
}

// Init initialises the data directory of the step's node with cmd, once
// (InitOnce), as the node's instance and with its mode.
func (h Host) Init(ctx context.Context, s *Step, cmd dbplane.Command, marker string, made ...string) error {
	return InitOnce(ctx, s, h.InstanceID, h.Mode, cmd, marker, made...)
}

// EmptyDataDir empties the data directory of the step's node (EmptyDir)
// through a, the agent of its host, for a copy to fill it.
func (h Host) EmptyDataDir(ctx context.Context, s *Step, a dbplane.HostAgent) error {
	return EmptyDir(ctx, a, s.Node, h.InstanceID, s.Node.DataDir, h.User, h.Mode)
}
