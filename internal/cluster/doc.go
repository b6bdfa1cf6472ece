// Package cluster holds the tests of Kepu as it is deployed: several
// `kepu serve` processes on one Postgres and one Redis behind the nginx
// configuration of deploy/nginx, with instances killed mid-game, and on
// private Redis Sentinel and Redis Cluster processes. It has no code of
// its own besides the test harness (harness_test.go; Redis, Sentinel and
// Cluster processes in redis_test.go and rediscluster_test.go).
package cluster
