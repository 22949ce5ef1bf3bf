package redis

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// conn is a connection to one Redis node, authenticated as a user.
type conn interface {
	// Do sends one command and returns its reply: a string, an int64, a
	// []any of replies, or the server's error.
	Do(ctx context.Context, args ...any) (any, error)
	Close() error
}

// connectFunc opens a connection to the node at addr (host:port), over
// TLS with tlsConf unless it is nil.
type connectFunc func(ctx context.Context, addr, user, password string, tlsConf *tls.Config) (conn, error)

// Timeouts of one connection to a node: a step polls, so each command
// fails fast and the next poll tries again.
const (
	dialTimeout = 5 * time.Second
	ioTimeout   = 10 * time.Second
)

// goredisConnect opens a go-redis client of one connection to addr. It
// speaks RESP2 and sends nothing but dbplane's commands: no client
// identification and no maintenance notifications, which Redis 7.0 does not
// know. It dials (and shakes hands) at once, so that a node that does not
// listen yet, or presents a certificate tlsConf refuses, fails the call at
// once: go-redis would retry the dial for half a second, log each failure
// and then dial only once a second.
func goredisConnect(ctx context.Context, addr, user, password string, tlsConf *tls.Config) (conn, error) {
	d := &net.Dialer{Timeout: dialTimeout}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := d.DialContext(ctx, network, addr)
		if err != nil || tlsConf == nil {
			return nc, err
		}
		tc := tls.Client(nc, tlsConf)
		hctx, cancel := context.WithTimeout(ctx, dialTimeout)
		defer cancel()
		if err := tc.HandshakeContext(hctx); err != nil {
			nc.Close()
			return nil, err
		}
		return tc, nil
	}
	nc, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	first := &firstConn{c: nc}
	c := goredis.NewClient(&goredis.Options{
		Addr: addr, Username: user, Password: password,
		Protocol: 2, DisableIdentity: true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if c := first.take(); c != nil {
				return c, nil
			}
			return dial(ctx, network, addr)
		},
		DialTimeout: dialTimeout, ReadTimeout: ioTimeout, WriteTimeout: ioTimeout,
		ContextTimeoutEnabled: true,
		PoolSize:              1, MaxRetries: -1,
	})
	return goredisConn{c, first}, nil
}

// firstConn holds the connection goredisConnect dialed until the client
// takes it.
type firstConn struct {
	mu sync.Mutex
	c  net.Conn
}

func (f *firstConn) take() net.Conn {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.c
	f.c = nil
	return c
}

type goredisConn struct {
	c     *goredis.Client
	first *firstConn
}

func (g goredisConn) Do(ctx context.Context, args ...any) (any, error) {
	return g.c.Do(ctx, args...).Result()
}

// Close closes the client and the first connection if the client never
// took it.
func (g goredisConn) Close() error {
	if c := g.first.take(); c != nil {
		c.Close()
	}
	return g.c.Close()
}

// open connects to node n as the admin user.
func (s *step) open(ctx context.Context, n node) (conn, error) {
	pw, err := s.adminPassword(ctx)
	if err != nil {
		return nil, err
	}
	return s.openAs(ctx, n, pw)
}

// openAs connects to node n as the admin user with password pw.
func (s *step) openAs(ctx context.Context, n node, pw string) (conn, error) {
	tlsConf, err := s.tlsConfig(n)
	if err != nil {
		return nil, err
	}
	connect := s.e.connect
	if connect == nil {
		connect = goredisConnect
	}
	c, err := connect(ctx, n.hostPort(), AdminUser, pw, tlsConf)
	if err != nil {
		return nil, fmt.Errorf("while connecting to node %d at %s: %w", n.Ordinal, n.hostPort(), err)
	}
	return c, nil
}

// command runs one command on node n and returns its reply as a string.
// Errors name the command's first words only: arguments may be secrets.
func command(ctx context.Context, c conn, n node, args ...any) (string, error) {
	reply, err := c.Do(ctx, args...)
	if err != nil {
		return "", fmt.Errorf("while running %s on node %d (%s): %w", commandName(args), n.Ordinal, n.hostPort(), err)
	}
	switch r := reply.(type) {
	case string:
		return r, nil
	case int64:
		return fmt.Sprint(r), nil
	case nil:
		return "", nil
	}
	return fmt.Sprint(reply), nil
}

// commandName is the command of args, with its subcommand.
func commandName(args []any) string {
	var words []string
	for i, a := range args {
		if i == 2 {
			break
		}
		words = append(words, strings.ToUpper(fmt.Sprint(a)))
	}
	return strings.Join(words, " ")
}

// parseInfo returns the fields of an INFO or CLUSTER INFO reply.
func parseInfo(s string) map[string]string {
	out := map[string]string{}
	for line := range strings.Lines(s) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			out[k] = v
		}
	}
	return out
}

// info runs a command that answers in INFO's "field:value" lines (INFO
// replication, CLUSTER INFO) on n and returns its fields.
func info(ctx context.Context, c conn, n node, args ...any) (map[string]string, error) {
	s, err := command(ctx, c, n, args...)
	if err != nil {
		return nil, err
	}
	return parseInfo(s), nil
}
