package redis_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	goredis "github.com/redis/go-redis/v9"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest"
	"github.com/dbplane/dbplane/engine/redis"
)

// checkWellFormed checks every step has a unique key, a timeout, attempts
// and a description, and that its handlers are registered.
func checkWellFormed(t *testing.T, e *redis.Engine, steps []dbplane.PlanStep) {
	t.Helper()
	enginetest.CheckWellFormed(t, steps)
	enginetest.CheckRegistered(t, e.HandlerNames(), steps)
}

func TestPlanCreate(t *testing.T) {
	e := &redis.Engine{}
	t.Run("Standalone", func(t *testing.T) {
		steps := e.PlanCreate(newCluster("solo", dbplane.TopologyStandalone, 1, 0, 0))
		enginetest.CheckNames(t, steps, "Precheck host 0", "Install packages on host 0", "Prepare directories on host 0",
			"Configure primary", "Create users", "Start primary")
		checkWellFormed(t, e, steps)
		enginetest.CheckOnNode(t, steps, 0)
	})
	t.Run("Replication", func(t *testing.T) {
		steps := e.PlanCreate(newCluster("trio", dbplane.TopologyReplication, 3, 0, 0))
		if got := len(steps); got != 3*4+1+3+2 {
			t.Fatalf("%d steps, want 18: %v", got, enginetest.Names(steps))
		}
		enginetest.CheckRegistered(t, e.HandlerNames(), steps)
		enginetest.CheckShape(t, steps, enginetest.Shape{
			Edges: map[string][]string{
				"Precheck host 1":               nil,
				"Install packages on host 1":    {"Precheck host 1"},
				"Prepare directories on host 2": {"Install packages on host 2"},
				"Configure replica 2":           {"Prepare directories on host 2"},
				"Create users":                  {"Prepare directories on host 0", "Prepare directories on host 1", "Prepare directories on host 2"},
				"Start primary":                 {"Configure primary", "Create users"},
				"Start replica 1":               {"Configure replica 1", "Create users", "Start primary"},
				"Verify replica 1":              {"Start primary", "Start replica 1"},
				"Verify replica 2":              {"Start primary", "Start replica 2"},
			},
			Ordinals: map[string]int{"Precheck host 2": 2, "Create users": 0, "Start replica 2": 2, "Verify replica 1": 1},
			Undo: map[string]string{"Prepare directories on host 1": enginekit.Handler(dbplane.EngineRedis, enginekit.StepRemove),
				"Start primary": redis.HandlerStop, "Start replica 2": redis.HandlerStop, "Create users": "", "Verify replica 1": ""},
		})
	})
	t.Run("RedisCluster", func(t *testing.T) {
		steps := e.PlanCreate(newCluster("shards", dbplane.TopologyRedisCluster, 0, 3, 1))
		if got := len(steps); got != 6*4+1+6+2 {
			t.Fatalf("%d steps, want 33: %v", got, enginetest.Names(steps))
		}
		checkWellFormed(t, e, steps)
		create := enginetest.StepByName(t, steps, "Create cluster")
		want := []string{"Start node 0 (shard 0 primary)", "Start node 1 (shard 0 replica)", "Start node 2 (shard 1 primary)",
			"Start node 3 (shard 1 replica)", "Start node 4 (shard 2 primary)", "Start node 5 (shard 2 replica)"}
		if diff := cmp.Diff(want, enginetest.UpstreamNames(t, steps, create)); diff != "" {
			t.Errorf("upstreams of Create cluster (-want +got):\n%s", diff)
		}
		verify := enginetest.StepByName(t, steps, "Verify cluster")
		if diff := cmp.Diff([]string{"Create cluster"}, enginetest.UpstreamNames(t, steps, verify)); diff != "" {
			t.Errorf("upstreams of Verify cluster (-want +got):\n%s", diff)
		}
		enginetest.StepByName(t, steps, "Configure node 3 (shard 1 replica)")
		for _, s := range steps {
			if s.Handler == redis.HandlerVerifyReplica {
				t.Errorf("step %q: a Redis cluster verifies its replicas in Verify cluster", s.Name)
			}
		}
	})
	t.Run("DryRunBeforePlacement", func(t *testing.T) {
		for _, c := range []*dbplane.Cluster{
			newCluster("trio", dbplane.TopologyReplication, 3, 0, 0),
			newCluster("shards", dbplane.TopologyRedisCluster, 0, 3, 1),
		} {
			placed := e.PlanCreate(c)
			c.Nodes = nil
			unplaced := e.PlanCreate(c)
			if diff := cmp.Diff(enginetest.Names(placed), enginetest.Names(unplaced)); diff != "" {
				t.Errorf("%s before placement (-placed +unplaced):\n%s", c.Topology, diff)
			}
		}
	})
}

func TestPlanDelete(t *testing.T) {
	steps := (&redis.Engine{}).PlanDelete(newCluster("shards", dbplane.TopologyRedisCluster, 0, 3, 1))
	enginetest.CheckRemoval(t, steps, 6, enginekit.Handler(dbplane.EngineRedis, enginekit.StepRemove))
}

func TestEndpoints(t *testing.T) {
	e := &redis.Engine{}
	t.Run("Replication", func(t *testing.T) {
		got := e.Endpoints(newCluster("trio", dbplane.TopologyReplication, 3, 0, 0))
		want := &dbplane.Endpoints{Primary: "10.0.0.1:6379", Replicas: []string{"10.0.0.2:6380", "10.0.0.3:6381"},
			URI: "redis://admin@10.0.0.1:6379"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("endpoints (-want +got):\n%s", diff)
		}
	})
	t.Run("RedisClusterSeedsEveryPrimary", func(t *testing.T) {
		got := e.Endpoints(newCluster("shards", dbplane.TopologyRedisCluster, 0, 3, 1))
		want := &dbplane.Endpoints{Primary: "10.0.0.1:6379", Replicas: []string{"10.0.0.2:6380", "10.0.0.4:6382", "10.0.0.6:6384"},
			URI: "redis://admin@10.0.0.1:6379?addr=10.0.0.3:6381&addr=10.0.0.5:6383"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("endpoints (-want +got):\n%s", diff)
		}
		opts, err := goredis.ParseClusterURL(got.URI)
		if err != nil {
			t.Fatalf("go-redis cannot parse %s: %v", got.URI, err)
		}
		if diff := cmp.Diff([]string{"10.0.0.1:6379", "10.0.0.3:6381", "10.0.0.5:6383"}, opts.Addrs); diff != "" || opts.Username != "admin" || opts.Password != "" {
			t.Errorf("go-redis reads user %q, password %q, seeds (-want +got):\n%s", opts.Username, opts.Password, diff)
		}
	})
	t.Run("Unplaced", func(t *testing.T) {
		c := newCluster("trio", dbplane.TopologyReplication, 3, 0, 0)
		c.Nodes = nil
		if got := e.Endpoints(c); got != nil {
			t.Fatalf("endpoints of an unplaced cluster: %+v, want nil", got)
		}
	})
}

func TestSlotRanges(t *testing.T) {
	for shards := 1; shards <= 64; shards++ {
		ranges := redis.SlotRanges(shards)
		if len(ranges) != shards {
			t.Fatalf("%d shards: %d ranges", shards, len(ranges))
		}
		next, smallest, largest := 0, 16384, 0
		for _, r := range ranges {
			if r[0] != next || r[1] < r[0] {
				t.Fatalf("%d shards: range %v after slot %d: want contiguous ranges", shards, r, next-1)
			}
			size := r[1] - r[0] + 1
			smallest, largest = min(smallest, size), max(largest, size)
			next = r[1] + 1
		}
		if next != 16384 || largest-smallest > 1 {
			t.Fatalf("%d shards: ranges %v end at %d with sizes %d..%d: want 0-16383 split evenly", shards, ranges, next-1, smallest, largest)
		}
	}
	if diff := cmp.Diff([][2]int{{0, 5460}, {5461, 10921}, {10922, 16383}}, redis.SlotRanges(3)); diff != "" {
		t.Errorf("3 shards (-want +got):\n%s", diff)
	}
}

func TestParseClusterNodes(t *testing.T) {
	reply := "07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004,h4 slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected\n" +
		"e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001,h1 myself,master - 0 0 1 connected 0-5460 5462 [5461->-292f8b365bb7edb5e285caf0b7e6ddc7265a2f4f]\n"
	got, err := redis.ParseClusterNodes(reply)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004 [slave] e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca []",
		"e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001 [myself master] - [0-5460 5462-5462]",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parsed (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"abc 1.2.3.4:1@2 master -", "id 1.2.3.4:1@2 master - 0 0 1 connected 5-3", "id a:1@2 master - 0 0 1 connected 16384"} {
		if _, err := redis.ParseClusterNodes(bad); err == nil {
			t.Errorf("%q parsed without error", bad)
		}
	}
}
