// Command dbplane is the dbplane control plane, its agent and its CLI, in
// one binary: `dbplane serve`, `dbplane dev`, and `dbplane <noun> <verb>`
// client commands. See docs/cli.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	// SIGINT and SIGTERM cancel the context: the server shuts down
	// gracefully and a watching client stops watching.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], env{
		stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr,
		getenv: os.Getenv, connect: httpConnect, now: time.Now,
	})
	stop()
	os.Exit(code)
}
