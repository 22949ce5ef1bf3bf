package mysql

// ParseReplicaStatus exposes the parsing of SHOW REPLICA STATUS for tests.
var ParseReplicaStatus = parseReplicaStatus
