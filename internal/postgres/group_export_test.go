package postgres

// Queued reports how many jobs wait for a flush (for tests).
func (g *Group[J]) Queued() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.queue)
}
