// Package gencache is a bounded map for per-instance caches: entries live
// in two generations; when the young one holds Max entries the old one is
// dropped, so the size stays below 2×Max and what is in use survives (a
// hit in the old generation moves to the young one). It is not safe for
// concurrent use: callers hold their own lock.
package gencache

// DefaultMax is Map.Max when it is 0.
const DefaultMax = 100_000

// Map is a two-generation map of int64 keys; the zero value is ready.
type Map[V any] struct {
	Max        int // entries per generation (0: DefaultMax)
	young, old map[int64]V
}

// Get returns the value of k.
func (m *Map[V]) Get(k int64) (V, bool) {
	if v, ok := m.young[k]; ok {
		return v, true
	}
	v, ok := m.old[k]
	if ok {
		m.Put(k, v)
	}
	return v, ok
}

// Put sets the value of k.
func (m *Map[V]) Put(k int64, v V) {
	limit := m.Max
	if limit <= 0 {
		limit = DefaultMax
	}
	if m.young == nil || len(m.young) >= limit {
		m.old, m.young = m.young, make(map[int64]V)
	}
	m.young[k] = v
}

// Delete forgets k.
func (m *Map[V]) Delete(k int64) {
	delete(m.young, k)
	delete(m.old, k)
}
