package redis_test

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/dbplane/dbplane/engine/redis"
)

func TestGoredisConnect(t *testing.T) {
	ctx := context.Background()
	t.Run("FailsAtOnceWhenNothingListens", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		start := time.Now()
		c, err := redis.GoredisConnect(ctx, addr, "admin", "pw", nil)
		if err == nil {
			c.Close()
			t.Fatalf("connecting to %s, where nothing listens, succeeded", addr)
		}
		// go-redis alone retries a dial 5 times, 100 ms apart.
		if d := time.Since(start); d > 300*time.Millisecond {
			t.Errorf("connecting to %s failed after %s, want at once", addr, d)
		}
	})
	t.Run("CloseReleasesAnUnusedConnection", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		c, err := redis.GoredisConnect(ctx, l.Addr().String(), "admin", "pw", nil)
		if err != nil {
			t.Fatal(err)
		}
		server, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer server.Close()
		c.Close()
		server.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := server.Read(make([]byte, 64)); err != io.EOF {
			t.Fatalf("the node read %d bytes, %v, after the client closed without a command: want the connection closed (EOF)", n, err)
		}
	})
}
