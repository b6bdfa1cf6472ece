package dashboard

import (
	"math"
	"reflect"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestFacility(t *testing.T) {
	tests := []struct {
		correct, n int64
		want       float64
	}{{0, 0, 0}, {3, 4, 0.75}, {5, 5, 1}, {0, 7, 0}}
	for _, tt := range tests {
		if got := Facility(tt.correct, tt.n); !near(got, tt.want) {
			t.Errorf("Facility(%d, %d) = %v, want %v", tt.correct, tt.n, got, tt.want)
		}
	}
}

func TestPointBiserial(t *testing.T) {
	// Worked by hand. Scores 10, 8, 6, 4, 2; the top two got the item right.
	// mean 6, population variance (16+4+0+4+16)/5 = 8, s = √8.
	// M1 = 9, M0 = 4, p = 0.4: r = 5/√8 · √0.24 = 0.866025…
	tests := []struct {
		name   string
		scores []float64
		right  []bool
		want   float64
		ok     bool
	}{
		{"top two right", []float64{10, 8, 6, 4, 2}, []bool{true, true, false, false, false}, 5 / math.Sqrt(8) * math.Sqrt(0.24), true},
		{"bottom two right", []float64{10, 8, 6, 4, 2}, []bool{false, false, false, true, true}, -0.866025403784, true},
		{"everyone right", []float64{3, 2, 1}, []bool{true, true, true}, 0, false},
		{"nobody right", []float64{3, 2, 1}, []bool{false, false, false}, 0, false},
		{"no spread", []float64{5, 5, 5}, []bool{true, false, true}, 0, false},
		{"one attempt", []float64{5}, []bool{true}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m Moments
			for i, s := range tt.scores {
				m.Add(s, tt.right[i])
			}
			got, ok := m.PointBiserial()
			if ok != tt.ok || math.Abs(got-tt.want) > 1e-6 {
				t.Errorf("got %v, %v; want %v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestUpperLower(t *testing.T) {
	tests := []struct {
		name  string
		cells []ScoreCell
		frac  float64
		want  float64
		ok    bool
	}{
		// 100 attempts, one per score 0..99; scores ≥ 50 got it right.
		// Top 27 all right, bottom 27 all wrong: D = 1.
		{"clean split", func() []ScoreCell {
			var c []ScoreCell
			for s := 0; s < 100; s++ {
				c = append(c, ScoreCell{Score: s, N: 1, Correct: b2i(s >= 50)})
			}
			return c
		}(), 0.27, 1, true},
		// 10 attempts: k = 2.7. Lower: score 1 (2 attempts, 0 right) + 0.7 of
		// score 2 (2 attempts, 1 right → 0.35 right) = 0.35/2.7.
		// Upper: score 9 (2 attempts, 2 right) + 0.7 of score 8 (2, 2) = 2.7/2.7 = 1.
		{"pro rata boundary", []ScoreCell{{9, 2, 2}, {1, 2, 0}, {2, 2, 1}, {5, 2, 1}, {8, 2, 2}}, 0.27, 1 - 0.35/2.7, true},
		// Reversed item: upper wrong, lower right.
		{"negative", []ScoreCell{{0, 5, 5}, {10, 5, 0}}, 0.27, -1, true},
		{"too few", []ScoreCell{{3, 3, 1}}, 0.27, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := UpperLower(tt.cells, tt.frac)
			if ok != tt.ok || math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("got %v, %v; want %v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func TestItemFlags(t *testing.T) {
	tests := []struct {
		name    string
		n, ok   int64
		disc    float64
		discOK  bool
		options []int64
		key     []int
		want    []string
	}{
		{"healthy", 100, 60, 0.4, true, []int64{60, 20, 10, 10}, []int{0}, nil},
		{"too few answers", 5, 0, -0.5, true, []int64{0, 5}, []int{0}, nil},
		{"negative", 100, 60, -0.1, true, []int64{60, 20, 10, 10}, []int{0}, []string{FlagNegative}},
		{"nobody right, distractor", 50, 0, 0, false, []int64{0, 30, 20}, []int{0}, []string{FlagNobody, FlagDistractor}},
		{"distractor beats key", 100, 30, 0.2, true, []int64{30, 45, 25}, []int{0}, []string{FlagDistractor}},
		{"multiple choice not judged by distractor", 100, 30, 0.2, true, []int64{30, 45, 25}, []int{0, 2}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ItemFlags(MinFlagAnswers, tt.n, tt.ok, tt.disc, tt.discOK, tt.options, tt.key)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
