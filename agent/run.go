package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/dbplane/dbplane"
)

// maxOutput caps each of a command's stdout and stderr: a runaway command
// must not exhaust the agent's memory or the control plane's.
const maxOutput = 1 << 20

// waitDelay is how long Run waits for a command's output after it exited,
// when something it left behind keeps the pipes open.
const waitDelay = 5 * time.Second

// Run runs a command as an OS user and waits for it. A non-zero exit is in
// the result; a timeout kills the command's whole process group and is an
// error of kind unavailable. Output beyond 1 MiB per stream is dropped.
func (h *Host) Run(ctx context.Context, c dbplane.Command) (*dbplane.CommandResult, error) {
	const op = "agent.Run"
	if len(c.Argv) == 0 || c.Argv[0] == "" {
		return nil, dbplane.E(op, dbplane.Invalid(dbplane.FieldError{Field: "argv", Message: "is required"}))
	}
	if c.Timeout < 0 {
		return nil, dbplane.E(op, dbplane.Invalid(dbplane.FieldError{Field: "timeout", Message: "must not be negative"}))
	}
	u, err := lookupUser("user", c.User)
	if err != nil {
		return nil, dbplane.E(op, err)
	}
	rctx := ctx
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(rctx, c.Argv[0], c.Argv[1:]...)
	cmd.Env = u.env(c.Env)
	cmd.Dir = orRoot(c.Dir)
	if len(c.Stdin) > 0 {
		cmd.Stdin = bytes.NewReader(c.Stdin)
	}
	stdout, stderr := &cappedBuffer{max: maxOutput}, &cappedBuffer{max: maxOutput}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// A group of its own lets a timeout kill what the command spawned, too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: u.credential()}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = waitDelay
	err = cmd.Run()
	switch {
	case rctx.Err() != nil && ctx.Err() == nil:
		return nil, dbplane.E(op, &dbplane.Error{Kind: dbplane.KindUnavailable,
			Message: fmt.Sprintf("command %s timed out after %s", c.Argv[0], c.Timeout)})
	case ctx.Err() != nil:
		return nil, dbplane.E(op, ctx.Err())
	case err != nil && cmd.ProcessState == nil:
		return nil, dbplane.E(op, startError(c.Argv[0], err))
	}
	return &dbplane.CommandResult{ExitCode: exitCode(cmd.ProcessState), Stdout: stdout.String(), Stderr: stderr.String()}, nil
}

// orRoot is the working directory of a process: dir, or / rather than the
// agent's, which the user may not be able to enter.
func orRoot(dir string) string {
	if dir == "" {
		return "/"
	}
	return dir
}

// startError classifies a failure to start a process. A missing program or
// working directory is the caller's mistake, which a retry will not fix.
func startError(prog string, err error) error {
	switch {
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, syscall.ENOENT):
		return dbplane.Invalid(dbplane.FieldError{Field: "argv", Message: fmt.Sprintf("%s or the working directory does not exist", prog)})
	case errors.Is(err, syscall.EACCES):
		return dbplane.Invalid(dbplane.FieldError{Field: "argv", Message: fmt.Sprintf("%s or the working directory is not accessible to the user", prog)})
	}
	return fmt.Errorf("while starting %s: %w", prog, err)
}

// exitCode is the exit status, or 128+signal for a killed process, as
// shells report it.
func exitCode(ps *os.ProcessState) int {
	if code := ps.ExitCode(); code >= 0 {
		return code
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return -1
}

// cappedBuffer keeps the first max bytes written to it and drops the rest,
// while telling the writer all went well so the command is not killed by
// a broken pipe. It does not embed its buffer: io.Copy would use the
// buffer's ReadFrom and bypass the cap.
type cappedBuffer struct {
	buf bytes.Buffer
	max int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (b *cappedBuffer) String() string { return b.buf.String() }
