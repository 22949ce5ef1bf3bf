package enginekit

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dbplane/dbplane"
)

// MaxStderr bounds how much of a failed command's output an error carries.
const MaxStderr = 600

// Run runs a command and fails when it exits non-zero, with the end of its
// standard error.
func Run(ctx context.Context, a dbplane.HostAgent, cmd dbplane.Command) (*dbplane.CommandResult, error) {
	res, err := a.Run(ctx, cmd)
	if err != nil {
		return nil, fmt.Errorf("while running %s: %w", cmd.Argv[0], err)
	}
	if res.ExitCode != 0 {
		return res, fmt.Errorf("%s exited with code %d: %s", cmd.Argv[0], res.ExitCode, Tail(res.Stderr, MaxStderr))
	}
	return res, nil
}

// FileExists reports whether path exists on the host of n, as user sees
// it.
func FileExists(ctx context.Context, a dbplane.HostAgent, user string, n dbplane.Node, path string) (bool, error) {
	cmd := dbplane.Command{User: user, Argv: []string{"test", "-e", path}, Timeout: 10 * time.Second}
	res, err := a.Run(ctx, cmd)
	if err != nil {
		return false, fmt.Errorf("while looking for %s on host %d: %w", path, n.HostID, err)
	}
	switch res.ExitCode {
	case 0:
		return true, nil
	case 1:
		return false, nil
	}
	return false, fmt.Errorf("while looking for %s on host %d: test exited with code %d: %s", path, n.HostID, res.ExitCode, Tail(res.Stderr, MaxStderr))
}

// Tail returns the last n bytes of s, trimmed.
func Tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}

// AllExist reports whether every path exists on the host of n, as user
// sees it.
func AllExist(ctx context.Context, a dbplane.HostAgent, user string, n dbplane.Node, paths ...string) (bool, error) {
	for _, p := range paths {
		ok, err := FileExists(ctx, a, user, n, p)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// WriteFiles writes files, in order, on the host of n.
func WriteFiles(ctx context.Context, a dbplane.HostAgent, n dbplane.Node, files ...dbplane.File) error {
	for _, f := range files {
		if err := a.WriteFile(ctx, f); err != nil {
			return fmt.Errorf("while writing %s on host %d: %w", f.Path, n.HostID, err)
		}
	}
	return nil
}

// EmptyDir removes whatever dir holds on the host of n, by removing it
// with instance instanceID (stopped first, if it runs) and creating it
// again, owned by user with mode.
func EmptyDir(ctx context.Context, a dbplane.HostAgent, n dbplane.Node, instanceID, dir, user string, mode uint32) error {
	if err := a.RemoveInstance(ctx, instanceID, []string{dir}); err != nil {
		return fmt.Errorf("while emptying %s on host %d: %w", dir, n.HostID, err)
	}
	if err := a.EnsureDir(ctx, dir, user, mode); err != nil {
		return fmt.Errorf("while creating %s on host %d: %w", dir, n.HostID, err)
	}
	return nil
}

// InitTimeout bounds the program that initialises a data directory,
// unless its command says otherwise.
const InitTimeout = 2 * time.Minute

// InitOnce initialises the data directory of the step's node with cmd,
// once. A directory holding marker and made (what cmd leaves in it) is
// left alone. Any other is emptied first (EmptyDir, with instance
// instanceID and mode): cmd may have left it half-written (the agent or
// the host died under it), or it lost its content after the marker was
// written. Once cmd succeeds, marker is written. The directory and marker
// belong to cmd's user.
func InitOnce(ctx context.Context, s *Step, instanceID string, mode uint32, cmd dbplane.Command, marker string, made ...string) error {
	n := s.Node
	a, err := s.Agent(ctx, n)
	if err != nil {
		return err
	}
	done, err := AllExist(ctx, a, cmd.User, n, append([]string{marker}, made...)...)
	if err != nil {
		return err
	}
	if done {
		s.Logf("%s is already initialised", n.DataDir)
		return nil
	}
	if err := EmptyDir(ctx, a, n, instanceID, n.DataDir, cmd.User, mode); err != nil {
		return err
	}
	if cmd.Timeout == 0 {
		cmd.Timeout = InitTimeout
	}
	if _, err := Run(ctx, a, cmd); err != nil {
		return fmt.Errorf("while initialising %s on host %d: %w", n.DataDir, n.HostID, err)
	}
	if err := a.WriteFile(ctx, dbplane.File{Path: marker, Owner: cmd.User, Mode: 0o600, Content: []byte(n.DataDir + "\n")}); err != nil {
		return fmt.Errorf("while marking %s initialised: %w", n.DataDir, err)
	}
	s.Logf("initialised %s on host %d", n.DataDir, n.HostID)
	return nil
}

// Configure writes files (the node's configuration) on the host of the
// step's node.
func Configure(ctx context.Context, s *Step, files ...dbplane.File) error {
	a, err := s.Agent(ctx, s.Node)
	if err != nil {
		return err
	}
	return WriteFiles(ctx, a, s.Node, files...)
}
