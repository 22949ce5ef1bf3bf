package redis_test

import (
	"path"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest"
)

// fakeAgent is the kit's fake agent. Starting an instance starts a fake
// Redis node from the redis.conf the instance names.
type fakeAgent struct {
	*enginetest.Agent
	addrs map[string]string // instance id → the address its node listens on
	redis *fakeRedis
}

func newFakeAgent(hostID int64, r *fakeRedis) *fakeAgent {
	f := &fakeAgent{Agent: enginetest.NewAgent(hostID), addrs: map[string]string{}, redis: r}
	f.NeedDirs = true
	f.Exec = f.exec
	f.OnStart = f.start
	f.OnStop = func(id string, removed bool) { f.redis.stop(f.addrs[id], removed) }
	return f
}

// exec plays the programs the steps run; the agent is locked.
func (f *fakeAgent) exec(cmd dbplane.Command, res *dbplane.CommandResult) {
	switch path.Base(cmd.Argv[0]) {
	case "tail":
		res.Stdout = "fake log\n"
	default:
		res.ExitCode = 127
	}
}

// start starts the fake Redis node of inst; the agent is locked.
func (f *fakeAgent) start(inst dbplane.Instance) error {
	conf, ok := f.Files[inst.Argv[len(inst.Argv)-1]]
	if !ok {
		return dbplane.Errorf(dbplane.KindInvalid, "no configuration %s", inst.Argv[len(inst.Argv)-1])
	}
	addr, err := f.redis.start(string(conf))
	if err != nil {
		return err
	}
	f.addrs[inst.ID] = addr
	return nil
}

// The dialer and the store are the kit's.
type (
	fakeDialer = enginetest.Dialer
	fakeStore  = enginetest.Store
)
