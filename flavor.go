package dbplane

import "strconv"

// EngineSettings are what a node's memory and CPUs mean for an engine: its
// memory and connection settings. Engines configure nodes with them, and the
// flavor catalog shows them, so the two never disagree.
func EngineSettings(engine string, memoryMB int64, vcpus int) map[string]string {
	mb := func(pct int64) string { return strconv.FormatInt(max(memoryMB*pct/100, 16), 10) + "MB" }
	conns := strconv.Itoa(min(max(vcpus, 1)*100, 2000))
	switch engine {
	case EnginePostgreSQL:
		return map[string]string{"shared_buffers": mb(25), "effective_cache_size": mb(75),
			"work_mem": "4MB", "max_connections": conns}
	case EngineMySQL:
		return map[string]string{"innodb_buffer_pool_size": mb(60), "max_connections": conns}
	case EngineRedis:
		// Leave room for the fork of a snapshot and the output buffers.
		return map[string]string{"maxmemory": strconv.FormatInt(max(memoryMB*70/100, 16), 10) + "mb",
			"maxclients": "10000"}
	}
	return map[string]string{}
}

// Settings returns what the flavor means for each engine.
func (f Flavor) Settings() map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, e := range []string{EnginePostgreSQL, EngineMySQL, EngineRedis} {
		out[e] = EngineSettings(e, int64(f.MemoryGB)*1024, f.VCPUs)
	}
	return out
}
