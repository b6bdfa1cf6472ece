package scoring

import "testing"

func BenchmarkStandingEncode(b *testing.B) {
	var sink float64
	for i := 0; i < b.N; i++ {
		sink += Standing{Score: int64(i % 50000), TimeMS: int64(i % 900000), ReachedMS: int64(i)}.Encode()
	}
	_ = sink
}

func BenchmarkSpeedPoints(b *testing.B) {
	n := 0
	for i := 0; i < b.N; i++ {
		n += SpeedPoints(Credit([]int{0, 2}, []int{0, 2, 3}, true), 600, 400, int64(i%20000), 20000)
	}
	_ = n
}
