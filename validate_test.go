package dbplane_test

import (
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/google/go-cmp/cmp"
)

const goodPassword = "Str0ng-Pass"

// validSpec returns a spec that passes validation, for cases to break.
func validSpec() dbplane.ClusterSpec {
	return dbplane.ClusterSpec{
		Name:     "orders-db",
		Engine:   dbplane.EnginePostgreSQL,
		Version:  "15",
		Topology: dbplane.TopologyStandalone,
		Flavor:   "dbp.c2.m4",
		VolumeGB: 100,
		Password: goodPassword,
	}
}

func replication(n int) func(*dbplane.ClusterSpec) {
	return func(s *dbplane.ClusterSpec) {
		s.Topology = dbplane.TopologyReplication
		s.Nodes = n
	}
}

func galera(n int) func(*dbplane.ClusterSpec) {
	return func(s *dbplane.ClusterSpec) {
		s.Engine, s.Version, s.Topology, s.Nodes = dbplane.EngineMySQL, "10.11", dbplane.TopologyGalera, n
	}
}

func redisCluster(shards, replicas, nodes int) func(*dbplane.ClusterSpec) {
	return func(s *dbplane.ClusterSpec) {
		s.Engine, s.Version, s.Topology = dbplane.EngineRedis, "", dbplane.TopologyRedisCluster
		s.Shards, s.ReplicasPerShard, s.Nodes = shards, replicas, nodes
	}
}

// all applies several mutations in order.
func all(fs ...func(*dbplane.ClusterSpec)) func(*dbplane.ClusterSpec) {
	return func(s *dbplane.ClusterSpec) {
		for _, f := range fs {
			f(s)
		}
	}
}

func TestValidateClusterSpec(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*dbplane.ClusterSpec)
		want   []string // invalid field names, in order; nil for a valid spec
	}{
		{"Valid", func(*dbplane.ClusterSpec) {}, nil},

		// name
		{"Name4", func(s *dbplane.ClusterSpec) { s.Name = "abcd" }, nil},
		{"Name64", func(s *dbplane.ClusterSpec) { s.Name = "a" + strings.Repeat("b-_9", 15) + "xyz" }, nil},
		{"NameEmpty", func(s *dbplane.ClusterSpec) { s.Name = "" }, []string{"name"}},
		{"NameStartsWithDigit", func(s *dbplane.ClusterSpec) { s.Name = "1abcd" }, []string{"name"}},
		{"NameStartsWithDash", func(s *dbplane.ClusterSpec) { s.Name = "-abcd" }, []string{"name"}},
		{"NameTooShort", func(s *dbplane.ClusterSpec) { s.Name = "abc" }, []string{"name"}},
		{"NameReserved", func(s *dbplane.ClusterSpec) { s.Name = "dbplane-agent-db1" }, []string{"name"}},
		{"NameTooLong", func(s *dbplane.ClusterSpec) { s.Name = "a" + strings.Repeat("b", 64) }, []string{"name"}},
		{"NameSpace", func(s *dbplane.ClusterSpec) { s.Name = "ab cd" }, []string{"name"}},
		{"NameDot", func(s *dbplane.ClusterSpec) { s.Name = "ab.cd" }, []string{"name"}},
		{"NameNonASCII", func(s *dbplane.ClusterSpec) { s.Name = "abcé" }, []string{"name"}},

		// password
		{"PasswordEverySpecial", func(s *dbplane.ClusterSpec) { s.Password = "Ab" + dbplane.PasswordSpecials }, nil},
		{"PasswordNoUpper", func(s *dbplane.ClusterSpec) { s.Password = "abcdef1!" }, nil},
		{"PasswordNoSpecial", func(s *dbplane.ClusterSpec) { s.Password = "Abcdefg1" }, nil},
		{"Password32", func(s *dbplane.ClusterSpec) { s.Password = "Aa1" + strings.Repeat("x", 29) }, nil},
		{"PasswordEmpty", func(s *dbplane.ClusterSpec) { s.Password = "" }, []string{"password"}},
		{"PasswordTooShort", func(s *dbplane.ClusterSpec) { s.Password = "Ab1~xyz" }, []string{"password"}},
		{"PasswordTooLong", func(s *dbplane.ClusterSpec) { s.Password = "Aa1" + strings.Repeat("x", 30) }, []string{"password"}},
		{"PasswordTwoClasses", func(s *dbplane.ClusterSpec) { s.Password = "abcdefg12" }, []string{"password"}},
		{"PasswordOnlySpecials", func(s *dbplane.ClusterSpec) { s.Password = "!~#@%$*^_-" }, []string{"password"}},
		{"PasswordSpace", func(s *dbplane.ClusterSpec) { s.Password = "Abc def1!" }, []string{"password"}},
		{"PasswordQuote", func(s *dbplane.ClusterSpec) { s.Password = `Abc"def1` }, []string{"password"}},
		{"PasswordSlash", func(s *dbplane.ClusterSpec) { s.Password = `Abc\def1` }, []string{"password"}},
		{"PasswordSemicolon", func(s *dbplane.ClusterSpec) { s.Password = "Abc;def1" }, []string{"password"}},
		{"PasswordNonASCII", func(s *dbplane.ClusterSpec) { s.Password = "Abcdéf1!" }, []string{"password"}},

		// engine, version, topology
		{"EngineEmpty", func(s *dbplane.ClusterSpec) { s.Engine = "" }, []string{"engine"}},
		{"EngineUnknown", func(s *dbplane.ClusterSpec) { s.Engine = "oracle" }, []string{"engine"}},
		{"VersionDefault", func(s *dbplane.ClusterSpec) { s.Version = "" }, nil},
		{"VersionUnknown", func(s *dbplane.ClusterSpec) { s.Version = "14" }, []string{"version"}},
		{"VersionOfOtherEngine", func(s *dbplane.ClusterSpec) { s.Version = "10.11" }, []string{"version"}},
		{"TopologyEmpty", func(s *dbplane.ClusterSpec) { s.Topology = "" }, []string{"topology"}},
		{"TopologyUnknown", func(s *dbplane.ClusterSpec) { s.Topology = "sharded" }, []string{"topology"}},
		{"TopologyUnsupported", all(replication(3), func(s *dbplane.ClusterSpec) { s.Topology = dbplane.TopologyGalera }), []string{"topology"}},

		// node counts
		{"StandaloneNodes1", func(s *dbplane.ClusterSpec) { s.Nodes = 1 }, nil},
		{"StandaloneNodes2", func(s *dbplane.ClusterSpec) { s.Nodes = 2 }, []string{"nodes"}},
		{"StandaloneNegative", func(s *dbplane.ClusterSpec) { s.Nodes = -1 }, []string{"nodes"}},
		{"Replication2", replication(2), nil},
		{"Replication9", replication(9), nil},
		{"Replication1", replication(1), []string{"nodes"}},
		{"ReplicationMissing", replication(0), []string{"nodes"}},
		{"Replication10", replication(10), []string{"nodes"}},
		{"Galera3", galera(3), nil},
		{"Galera9", galera(9), nil},
		{"Galera4", galera(4), []string{"nodes"}},
		{"Galera1", galera(1), []string{"nodes"}},
		{"Galera11", galera(11), []string{"nodes"}},
		{"RedisCluster", redisCluster(3, 1, 6), nil},
		{"RedisClusterDerivedNodes", redisCluster(64, 5, 0), nil},
		{"RedisClusterNoReplicas", redisCluster(3, 0, 0), nil},
		{"RedisClusterTwoShards", redisCluster(2, 1, 0), []string{"shards"}},
		{"RedisClusterManyShards", redisCluster(65, 1, 0), []string{"shards"}},
		{"RedisClusterSixReplicas", redisCluster(3, 6, 0), []string{"replicas_per_shard"}},
		{"RedisClusterNegativeReplicas", redisCluster(3, -1, 0), []string{"replicas_per_shard"}},
		{"RedisClusterWrongNodes", redisCluster(3, 1, 5), []string{"nodes"}},
		{"ShardsOutsideRedisCluster", func(s *dbplane.ClusterSpec) { s.Shards = 3 }, []string{"shards"}},
		{"ReplicasPerShardOutsideRedisCluster", all(replication(2), func(s *dbplane.ClusterSpec) { s.ReplicasPerShard = 1 }), []string{"replicas_per_shard"}},

		// replication mode
		{"ModeSync", all(replication(2), mode("sync")), nil},
		{"ModeQuorum", all(replication(3), mode("quorum")), nil},
		{"ModeQuorumTwoNodes", all(replication(2), mode("quorum")), []string{"replication_mode"}},
		{"ModeUnknown", all(replication(2), mode("semi")), []string{"replication_mode"}},
		{"ModeOnStandalone", mode("async"), []string{"replication_mode"}},
		{"ModeOnGalera", all(galera(3), mode("sync")), []string{"replication_mode"}},
		{"RedisAsync", all(redis, replication(2), mode("async")), nil},
		{"RedisSync", all(redis, replication(2), mode("sync")), []string{"replication_mode"}},

		// flavor
		{"FlavorEmpty", func(s *dbplane.ClusterSpec) { s.Flavor = "" }, []string{"flavor"}},
		{"FlavorUnknown", func(s *dbplane.ClusterSpec) { s.Flavor = "dbp.c3.m3" }, []string{"flavor"}},

		// volume
		{"Volume10", volume(10), nil},
		{"Volume10000", volume(10000), nil},
		{"Volume0", volume(0), []string{"volume_gb"}},
		{"VolumeNotMultiple", volume(15), []string{"volume_gb"}},
		{"VolumeTooLarge", volume(10010), []string{"volume_gb"}},
		{"VolumeNegative", volume(-10), []string{"volume_gb"}},

		// zones
		{"Zones", all(replication(3), zones("z1", "z-2", "Z_3"), primary("z1")), nil},
		{"ZonesFewerThanNodes", all(galera(5), zones("z1", "z2")), nil},
		{"ZoneDuplicate", all(replication(3), zones("z1", "z2", "z1")), []string{"zones[2]"}},
		{"ZoneEmptyName", all(replication(3), zones("z1", "")), []string{"zones[1]"}},
		{"ZoneBadName", all(replication(3), zones("z1", "z 2")), []string{"zones[1]"}},
		{"ZoneLongName", all(replication(3), zones(strings.Repeat("z", 65))), []string{"zones[0]"}},
		{"ZonesMoreThanNodes", zones("z1", "z2"), []string{"zones"}},
		{"GaleraZonesMoreThanNodes", all(galera(3), zones("z1", "z2", "z3", "z4")), []string{"zones"}},
		{"TooManyZones", all(replication(3), zones(make([]string, 65)...)), []string{"zones"}},
		{"PrimaryZoneNotInZones", all(replication(3), zones("z1", "z2"), primary("z3")), []string{"primary_zone"}},
		{"PrimaryZoneWithoutZones", primary("z1"), []string{"primary_zone"}},

		// pinned hosts
		{"Hosts", all(replication(3), hosts(3, 1, 2)), nil},
		{"HostsFewerThanNodes", all(replication(3), hosts(1, 2)), []string{"hosts"}},
		{"HostsRedisClusterCount", all(redisCluster(3, 1, 0), hosts(1, 2, 3, 4, 5, 6)), nil},
		{"HostDuplicate", all(replication(3), hosts(1, 2, 1)), []string{"hosts[2]"}},
		{"HostNotAnID", all(replication(2), hosts(1, 0)), []string{"hosts[1]"}},

		// parameters, allowlist, labels
		{"Parameters", params("max_connections", "200", "log.level", strings.Repeat("v", 1024)), nil},
		{"ParameterUpperCase", params("Max_connections", "200"), []string{"parameters[Max_connections]"}},
		{"ParameterEmptyKey", params("", "1"), []string{"parameters[]"}},
		{"ParameterLongKey", params(strings.Repeat("k", 65), "1"), []string{"parameters[" + strings.Repeat("k", 64) + "…]"}},
		{"ParameterLongValue", params("work_mem", strings.Repeat("v", 1025)), []string{"parameters[work_mem]"}},
		{"ParameterNewlineKey", params("a\nb", "1"), []string{`parameters["a\nb"]`}},
		{"Allowlist", allow("10.0.0.1", "10.0.0.0/8", "::1", "2001:db8::/32", "0.0.0.0/0"), nil},
		{"AllowlistHostBits", allow("10.0.0.0/8", "10.0.0.1/8"), []string{"allowlist[1]"}},
		{"AllowlistNotIP", allow("example.com"), []string{"allowlist[0]"}},
		{"AllowlistBadPrefix", allow("10.0.0.0/33"), []string{"allowlist[0]"}},
		{"AllowlistIPv6Zone", allow("fe80::1%eth0"), []string{"allowlist[0]"}},
		{"AllowlistEmpty", allow(""), []string{"allowlist[0]"}},
		{"Labels", labels("team", "payments", strings.Repeat("k", 63), strings.Repeat("v", 63)), nil},
		{"LabelEmptyKey", labels("", "x"), []string{"labels[]"}},
		{"LabelLongKey", labels(strings.Repeat("k", 64), "x"), []string{"labels[" + strings.Repeat("k", 64) + "]"}},
		{"LabelLongValue", labels("team", strings.Repeat("v", 64)), []string{"labels[team]"}},
	}
	cat := dbplane.DefaultCatalog()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := validSpec()
			tt.mutate(&spec)
			err := dbplane.ValidateClusterSpec(&spec, cat)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("ValidateClusterSpec() = %v, want nil", err)
				}
				return
			}
			if got := dbplane.ErrorKind(err); got != dbplane.KindInvalid {
				t.Fatalf("kind = %v (%v), want invalid", got, err)
			}
			if diff := cmp.Diff(tt.want, fieldNames(err)); diff != "" {
				t.Errorf("fields (-want +got):\n%s\n%v", diff, err)
			}
			assertNoPassword(t, err, spec.Password)
		})
	}
}

func mode(m string) func(*dbplane.ClusterSpec) {
	return func(s *dbplane.ClusterSpec) { s.ReplicationMode = m }
}

func redis(s *dbplane.ClusterSpec) { s.Engine, s.Version = dbplane.EngineRedis, "7.0" }

func volume(gb int) func(*dbplane.ClusterSpec) {
	return func(s *dbplane.ClusterSpec) { s.VolumeGB = gb }
}

func zones(zs ...string) func(*dbplane.ClusterSpec) {
	return func(s *dbplane.ClusterSpec) { s.Zones = zs }
}

func hosts(ids ...int64) func(*dbplane.ClusterSpec) {
	return func(s *dbplane.ClusterSpec) { s.Hosts = ids }
}

func primary(z string) func(*dbplane.ClusterSpec) {
	return func(s *dbplane.ClusterSpec) { s.PrimaryZone = z }
}

func params(kv ...string) func(*dbplane.ClusterSpec) {
	return func(s *dbplane.ClusterSpec) { s.Parameters = pairs(kv) }
}

func labels(kv ...string) func(*dbplane.ClusterSpec) {
	return func(s *dbplane.ClusterSpec) { s.Labels = pairs(kv) }
}

func allow(list ...string) func(*dbplane.ClusterSpec) {
	return func(s *dbplane.ClusterSpec) { s.Allowlist = list }
}

func pairs(kv []string) map[string]string {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func fieldNames(err error) []string {
	var names []string
	for _, f := range dbplane.ErrorFields(err) {
		names = append(names, f.Field)
	}
	return names
}

// assertNoPassword fails if any message a client or a log could see contains
// the password.
func assertNoPassword(t *testing.T, err error, password string) {
	t.Helper()
	if password == "" {
		return
	}
	texts := []string{err.Error(), dbplane.ErrorMessage(err)}
	for _, f := range dbplane.ErrorFields(err) {
		texts = append(texts, f.Message)
	}
	for _, s := range texts {
		if strings.Contains(s, password) {
			t.Errorf("message %q contains the password", s)
		}
	}
}

func TestValidateClusterSpec_Messages(t *testing.T) {
	cat := dbplane.DefaultCatalog()
	tests := []struct {
		name   string
		mutate func(*dbplane.ClusterSpec)
		field  string
		want   []string // substrings the message must contain
	}{
		{"VersionListsAvailable", func(s *dbplane.ClusterSpec) { s.Version = "14" }, "version", []string{`"14"`, "15"}},
		{"TopologyListsSupported", func(s *dbplane.ClusterSpec) { s.Topology = dbplane.TopologyGalera; s.Nodes = 3 }, "topology", []string{"standalone, replication"}},
		{"EngineListsEngines", func(s *dbplane.ClusterSpec) { s.Engine = "oracle" }, "engine", []string{"mysql, postgresql, redis"}},
		{"FlavorListsCodes", func(s *dbplane.ClusterSpec) { s.Flavor = "big" }, "flavor", []string{"dbp.c1.m2", "dbp.c2.m4"}},
		{"GaleraSaysWhy", galera(4), "nodes", []string{"odd", "quorum"}},
		{"PasswordNamesSpecials", func(s *dbplane.ClusterSpec) { s.Password = "Abcdef1 " }, "password", []string{"may contain only", dbplane.PasswordSpecials}},
		{"PasswordAllProblems", func(s *dbplane.ClusterSpec) { s.Password = "ab 1" }, "password", []string{"8 to 32", "may contain only", "at least three"}},
		{"RedisClusterNodes", redisCluster(3, 2, 4), "nodes", []string{"9"}},
		{"HostBitsSuggestsPrefix", allow("192.168.1.7/24"), "allowlist[0]", []string{"192.168.1.0/24"}},
		{"LongValueClipped", func(s *dbplane.ClusterSpec) { s.Engine = strings.Repeat("x", 5000) }, "engine", []string{"…"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := validSpec()
			tt.mutate(&spec)
			err := dbplane.ValidateClusterSpec(&spec, cat)
			msg, ok := fieldMessage(err, tt.field)
			if !ok {
				t.Fatalf("no error for field %s: %v", tt.field, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q does not contain %q", msg, w)
				}
			}
			if len(msg) > 400 {
				t.Errorf("message is %d bytes long: %q", len(msg), msg)
			}
		})
	}
}

func fieldMessage(err error, field string) (string, bool) {
	for _, f := range dbplane.ErrorFields(err) {
		if f.Field == field {
			return f.Message, true
		}
	}
	return "", false
}

func TestValidateClusterSpec_ReportsEveryViolation(t *testing.T) {
	spec := dbplane.ClusterSpec{
		Name:             "1x",
		Password:         "qwertyuiop",
		Engine:           dbplane.EngineMySQL,
		Version:          "8.0",
		Topology:         dbplane.TopologyGalera,
		Nodes:            4,
		ReplicasPerShard: 2,
		Flavor:           "huge",
		VolumeGB:         5,
		Zones:            []string{"a", "a", "b c"},
		PrimaryZone:      "d",
		ReplicationMode:  "sync",
		Parameters:       map[string]string{"Bad Key": "x"},
		Allowlist:        []string{"10.0.0.0/8", "nope"},
		Labels:           map[string]string{"": "x"},
	}
	err := dbplane.ValidateClusterSpec(&spec, dbplane.DefaultCatalog())
	want := []string{
		"name", "password", "version", "nodes", "replicas_per_shard", "replication_mode",
		"flavor", "volume_gb", "zones[1]", "zones[2]", "primary_zone",
		"parameters[Bad Key]", "allowlist[1]", "labels[]",
	}
	if diff := cmp.Diff(want, fieldNames(err)); diff != "" {
		t.Errorf("fields (-want +got):\n%s\n%v", diff, err)
	}
	if got := dbplane.ErrorMessage(err); got != "invalid request: 14 fields are invalid" {
		t.Errorf("message = %q", got)
	}
	assertNoPassword(t, err, spec.Password)
}

func TestValidateClusterSpec_Normalises(t *testing.T) {
	cat := dbplane.DefaultCatalog()
	tests := []struct {
		name   string
		mutate func(*dbplane.ClusterSpec)
		check  func(*dbplane.ClusterSpec) bool
	}{
		{"DefaultVersion", func(s *dbplane.ClusterSpec) { s.Version = "" },
			func(s *dbplane.ClusterSpec) bool { return s.Version == "15" }},
		{"StandaloneNodes", func(s *dbplane.ClusterSpec) { s.Nodes = 0 },
			func(s *dbplane.ClusterSpec) bool { return s.Nodes == 1 }},
		{"AsyncByDefault", replication(2),
			func(s *dbplane.ClusterSpec) bool { return s.ReplicationMode == dbplane.ReplicationAsync }},
		{"RedisClusterNodes", redisCluster(4, 2, 0),
			func(s *dbplane.ClusterSpec) bool { return s.Nodes == 12 && s.Version == "7.0" }},
		{"StandaloneHasNoMode", func(*dbplane.ClusterSpec) {},
			func(s *dbplane.ClusterSpec) bool { return s.ReplicationMode == "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := validSpec()
			tt.mutate(&spec)
			if err := dbplane.ValidateClusterSpec(&spec, cat); err != nil {
				t.Fatal(err)
			}
			if !tt.check(&spec) {
				t.Errorf("spec not normalised: %+v", spec.Redacted())
			}
		})
	}
}

func TestValidateClusterSpec_Nil(t *testing.T) {
	err := dbplane.ValidateClusterSpec(nil, dbplane.DefaultCatalog())
	if dbplane.ErrorKind(err) != dbplane.KindInvalid {
		t.Fatalf("err = %v, want invalid", err)
	}
}

func FuzzValidateClusterSpec(f *testing.F) {
	f.Add("orders-db", goodPassword, "postgresql", "15", "replication", 3, 0, 0, "dbp.c2.m4", 100, "z1", "z2", "z1", "quorum", "max_connections", "100", "10.0.0.0/8", "team", "x")
	f.Add("cache", "Ab1~Ab1~", "redis", "", "redis-cluster", 0, 3, 1, "dbp.c1.m2", 10, "", "", "", "", "", "", "", "", "")
	f.Add("1", "\xff\xfe", "mysql", "10.11", "galera", 4, -1, 9, "", -5, "a a", "a a", "b", "sync", "K", "", "::1%x", "", "")
	f.Fuzz(func(t *testing.T, name, password, engine, version, topology string, nodes, shards, replicas int,
		flavor string, volume int, zone1, zone2, primaryZone, mode, paramKey, paramValue, allow, labelKey, labelValue string,
	) {
		spec := dbplane.ClusterSpec{
			Name: name, Password: password, Engine: engine, Version: version, Topology: topology,
			Nodes: nodes, Shards: shards, ReplicasPerShard: replicas, Flavor: flavor, VolumeGB: volume,
			Zones: []string{zone1, zone2}, PrimaryZone: primaryZone, ReplicationMode: mode,
			Parameters: map[string]string{paramKey: paramValue},
			Allowlist:  []string{allow},
			Labels:     map[string]string{labelKey: labelValue},
		}
		cat := dbplane.DefaultCatalog()
		err := dbplane.ValidateClusterSpec(&spec, cat)
		if err == nil {
			// A normalised valid spec stays valid and unchanged.
			again := spec
			if err := dbplane.ValidateClusterSpec(&again, cat); err != nil {
				t.Fatalf("normalised spec is invalid: %v", err)
			}
			if diff := cmp.Diff(spec, again); diff != "" {
				t.Fatalf("second validation changed the spec (-first +second):\n%s", diff)
			}
			return
		}
		if dbplane.ErrorKind(err) != dbplane.KindInvalid || len(dbplane.ErrorFields(err)) == 0 {
			t.Fatalf("err = %v, want invalid with fields", err)
		}
		for _, fe := range dbplane.ErrorFields(err) {
			if fe.Field == "" || fe.Message == "" {
				t.Fatalf("empty field error %+v", fe)
			}
		}
		// The password message depends only on the password's shape (length
		// and character classes), so it cannot echo the password.
		masked := spec
		masked.Password = passwordShape(password)
		got, _ := fieldMessage(err, "password")
		want, _ := fieldMessage(dbplane.ValidateClusterSpec(&masked, cat), "password")
		if got != want {
			t.Fatalf("password message %q differs from that of its shape %q", got, want)
		}
	})
}

// passwordShape replaces each character by a fixed one of its class.
func passwordShape(pw string) string {
	var b strings.Builder
	for _, r := range pw {
		switch {
		case 'A' <= r && r <= 'Z':
			b.WriteByte('Q')
		case 'a' <= r && r <= 'z':
			b.WriteByte('q')
		case '0' <= r && r <= '9':
			b.WriteByte('7')
		case strings.ContainsRune(dbplane.PasswordSpecials, r):
			b.WriteByte('#')
		default:
			b.WriteRune('ü')
		}
	}
	return b.String()
}

func TestValidatePersistence(t *testing.T) {
	for _, tc := range []struct {
		engine, persistence, want string
		bad                       bool
	}{
		{dbplane.EngineRedis, "", "rdb", false},
		{dbplane.EngineRedis, "aof", "aof", false},
		{dbplane.EngineRedis, "wal", "", true},
		{dbplane.EnginePostgreSQL, "aof", "", true},
	} {
		spec := dbplane.ClusterSpec{Engine: tc.engine, Persistence: tc.persistence}
		err := dbplane.ValidateClusterSpec(&spec, dbplane.DefaultCatalog())
		bad := false
		for _, f := range dbplane.ErrorFields(err) {
			bad = bad || f.Field == "persistence"
		}
		if bad != tc.bad || (!tc.bad && spec.Persistence != tc.want) {
			t.Errorf("%s/%q: persistence error %v, value %q; want error %v, value %q", tc.engine, tc.persistence, bad, spec.Persistence, tc.bad, tc.want)
		}
	}
}
