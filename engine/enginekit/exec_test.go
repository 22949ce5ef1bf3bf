package enginekit_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest"
)

// stepOnHost returns a step on node 0 of a one-node cluster, on host 1
// served by a, and the step's log.
func stepOnHost(a *enginetest.Agent) (*enginekit.Step, *enginetest.Log) {
	n := dbplane.Node{Ordinal: 0, HostID: 1, Address: "10.0.0.1", Port: 5432, DataDir: "/data/n0"}
	c := &dbplane.Cluster{ID: 7, Name: "c", Spec: dbplane.ClusterSpec{Flavor: "dbp.c2.m4", VolumeGB: 10}, Nodes: []dbplane.Node{n}}
	log := &enginetest.Log{}
	return &enginekit.Step{Deps: enginekit.Deps{Dialer: enginetest.Dialer{1: a}}, Cluster: c, Node: n, Logf: log.Logf}, log
}

func logHas(log *enginetest.Log, part string) bool {
	return slices.ContainsFunc(log.All(), func(l string) bool { return strings.Contains(l, part) })
}

func TestAllExist(t *testing.T) {
	ctx := context.Background()
	a := enginetest.NewAgent(1)
	s, _ := stepOnHost(a)
	a.Files["/a"], a.Dirs["/d"] = []byte("x"), true
	for _, tc := range []struct {
		paths []string
		want  bool
	}{
		{nil, true},
		{[]string{"/a", "/d"}, true},
		{[]string{"/a", "/missing"}, false},
	} {
		got, err := enginekit.AllExist(ctx, a, "pg", s.Node, tc.paths...)
		if err != nil || got != tc.want {
			t.Errorf("AllExist(%v) = %v, %v; want %v", tc.paths, got, err, tc.want)
		}
	}
}

func TestWriteFilesCarriesTheCause(t *testing.T) {
	ctx := context.Background()
	a := enginetest.NewAgent(1)
	a.NeedDirs = true
	a.Dirs["/etc"] = true
	s, _ := stepOnHost(a)
	err := enginekit.WriteFiles(ctx, a, s.Node,
		dbplane.File{Path: "/etc/one", Content: []byte("1")},
		dbplane.File{Path: "/nowhere/two", Content: []byte("2")})
	if dbplane.ErrorKind(err) != dbplane.KindInvalid || !strings.Contains(err.Error(), "while writing /nowhere/two on host 1") {
		t.Fatalf("err = %v, want the agent's error about /nowhere/two", err)
	}
	if got := a.File(t, "/etc/one"); got != "1" {
		t.Errorf("/etc/one = %q, want 1", got)
	}
}

func TestConfigureWritesOnTheNodesHost(t *testing.T) {
	a := enginetest.NewAgent(1)
	s, _ := stepOnHost(a)
	if err := enginekit.Configure(context.Background(), s, dbplane.File{Path: "/data/n0/x.conf", Content: []byte("k = v\n")}); err != nil {
		t.Fatal(err)
	}
	if got := a.File(t, "/data/n0/x.conf"); got != "k = v\n" {
		t.Errorf("x.conf = %q", got)
	}
}

func TestEmptyDirRemovesAndRecreates(t *testing.T) {
	a := enginetest.NewAgent(1)
	s, _ := stepOnHost(a)
	a.Dirs["/data/n0"], a.Files["/data/n0/old"] = true, []byte("x")
	h := enginekit.Host{InstanceID: "pg-7-0", User: "postgres", Mode: 0o700}
	if err := h.EmptyDataDir(context.Background(), s, a); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Files["/data/n0/old"]; ok || !a.Dirs["/data/n0"] {
		t.Errorf("files %v, dirs %v: want /data/n0 empty and present", a.Files, a.Dirs)
	}
	if want := "EnsureDir /data/n0 postgres 700"; !slices.Contains(a.Calls, want) {
		t.Errorf("calls %v, want %q", a.Calls, want)
	}
}

func TestInitOnce(t *testing.T) {
	ctx := context.Background()
	a := enginetest.NewAgent(1)
	var fail bool
	a.Exec = func(cmd dbplane.Command, res *dbplane.CommandResult) {
		if fail {
			res.ExitCode, res.Stderr = 1, "initdb: disk full"
			return
		}
		a.Files["/data/n0/PG_VERSION"] = []byte("15\n")
	}
	s, log := stepOnHost(a)
	cmd := dbplane.Command{User: "postgres", Argv: []string{"initdb", "-D", "/data/n0"}}
	initOnce := func() error {
		return enginekit.Host{InstanceID: "pg-7-0", Mode: 0o700}.Init(ctx, s, cmd, "/home/initdb.done", "/data/n0/PG_VERSION")
	}

	if err := initOnce(); err != nil {
		t.Fatal(err)
	}
	if got := a.File(t, "/home/initdb.done"); got != "/data/n0\n" {
		t.Errorf("marker = %q", got)
	}
	if got := a.Commands("initdb")[0].Timeout; got != enginekit.InitTimeout {
		t.Errorf("initdb's timeout = %s, want %s", got, enginekit.InitTimeout)
	}
	if err := initOnce(); err != nil {
		t.Fatal(err)
	}
	if n := len(a.Commands("initdb")); n != 1 {
		t.Errorf("initdb ran %d times, want once", n)
	}
	if !logHas(log, "/data/n0 is already initialised") {
		t.Errorf("log %q does not say the directory was initialised already", log.All())
	}

	// A directory that lost its content is emptied and initialised again.
	delete(a.Files, "/data/n0/PG_VERSION")
	a.Files["/data/n0/stray"] = []byte("x")
	if err := initOnce(); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Files["/data/n0/stray"]; ok || len(a.Commands("initdb")) != 2 {
		t.Errorf("stray file kept or initdb not run again: %v", a.Calls)
	}

	// A failing program leaves no marker, and its error says why.
	delete(a.Files, "/home/initdb.done")
	fail = true
	err := initOnce()
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v, want initdb's", err)
	}
	if _, ok := a.Files["/home/initdb.done"]; ok {
		t.Error("a failed initialisation wrote the marker")
	}
}

func TestInitOnceCarriesTheAgentsError(t *testing.T) {
	s, _ := stepOnHost(enginetest.NewAgent(1))
	s.Deps.Dialer = enginetest.Dialer{}
	err := enginekit.InitOnce(context.Background(), s, "pg-7-0", 0o700, dbplane.Command{User: "postgres", Argv: []string{"initdb"}}, "/m")
	if dbplane.ErrorKind(err) != dbplane.KindNotFound {
		t.Fatalf("err = %v, want the dialer's not found", err)
	}
	var de *dbplane.Error
	if !errors.As(err, &de) {
		t.Errorf("err = %v does not carry the dialer's error", err)
	}
}
