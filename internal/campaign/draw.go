package campaign

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/jackc/pgx/v5"

	"github.com/kepu/kepu/internal/kepu"
)

// drawn is one question drawn for an attempt.
type drawn struct {
	VersionID  int64
	QuestionID int64
	Dimension  string
	Options    int
}

// sqlDraw picks up to $6 random current versions of published questions in
// language $1 matching the non-empty filters ($2 category, $3 dimension,
// $4 type), leaving out the questions in $5. $7 false draws from the
// published bank without its private questions; $7 true only from the
// private pool: private questions of banks in region $8's subtree (the
// campaign's region, which its organizers manage). $9 true serves, for
// each question drawn, the current version of its published English
// translation (translation_of) where it has one: the draw of a bilingual
// campaign for a participant who reads English.
const sqlDraw = `SELECT coalesce(tv.id, v.id), coalesce(tv.dimension, v.dimension), jsonb_array_length(coalesce(tv.options, v.options)), q.id
	FROM questions q JOIN question_versions v ON v.question_id = q.id AND v.version = q.current_version
	LEFT JOIN LATERAL (SELECT tv.id, tv.dimension, tv.options FROM questions t
		JOIN question_versions tv ON tv.question_id = t.id AND tv.version = t.current_version
		WHERE $9 AND t.translation_of = q.id AND t.lang = 'en' AND t.status = 'published') tv ON true
	WHERE q.status = 'published' AND q.lang = $1
	AND ($2 = '' OR q.category = $2) AND ($3 = '' OR q.dimension = $3) AND ($4 = '' OR q.type = $4)
	AND NOT (q.id = ANY($5)) AND q.private = $7
	AND (NOT $7 OR q.owner_region_id IN (SELECT r.id FROM regions r, regions root
		WHERE root.id = $8 AND r.path LIKE root.path || '%'))
	ORDER BY random() LIMIT $6`

// draw picks r.Questions distinct questions at random: each quota in turn,
// then the rest from any published question, in random play order. A quota
// the bank cannot fill is a kepu.EINVALID error naming it in the reader's
// language (Quota.Describe) on its field ("rules.quotas.N", or
// "rules.questions" for the questions outside the quotas).
//
// The questions are in the campaign's language r.Lang; for a bilingual
// campaign (LangBoth) see drawLang: lang is the participant's.
func draw(ctx context.Context, tx pgx.Tx, r Rules, regionID int64, lang string) ([]drawn, error) {
	return drawAvoiding(ctx, tx, r, regionID, lang, nil, nil)
}

// Drawn is one question drawn by DrawAvoiding (QuestionID is the original
// question's id).
type Drawn = drawn

// DrawAvoiding is the draw of an attempt under rules r (quotas, language,
// pool; lang the reader's) for other features (the daily practice,
// internal/practice): questions in exclude are never drawn, and each quota
// is filled from the questions outside avoid first, from those in avoid
// only when the others run short. A quota the bank cannot fill is
// kepu.EINVALID as for draw.
func DrawAvoiding(ctx context.Context, tx pgx.Tx, r Rules, lang string, exclude, avoid []int64) ([]Drawn, error) {
	return drawAvoiding(ctx, tx, r, 0, lang, exclude, avoid)
}

func drawAvoiding(ctx context.Context, tx pgx.Tx, r Rules, regionID int64, lang string, exclude, avoid []int64) ([]drawn, error) {
	pool, english := r.drawLang(lang)
	quotas := r.allQuotas()
	taken := append([]int64{}, exclude...)
	var out []drawn
	for i, q := range quotas {
		var got []drawn
		for pass, skip := range [][]int64{avoid, nil} {
			if pass == 1 && (len(avoid) == 0 || len(got) == q.Count) {
				break
			}
			more, err := drawQuota(ctx, tx, sqlDrawArgs{pool, q, append(taken[:len(taken):len(taken)], skip...), q.Count - len(got),
				r.Pool == PoolPrivate, regionID, english})
			if err != nil {
				return nil, err
			}
			for _, d := range more {
				taken = append(taken, d.QuestionID)
			}
			got = append(got, more...)
		}
		out = append(out, got...)
		if n := len(got); n < q.Count {
			field, name := "rules.questions", q.Describe(0)
			if i < len(r.Quotas) {
				field, name = quotaField(i), q.Describe(i+1)
			}
			key := "error.campaign_quota_short"
			if r.Pool == PoolPrivate {
				key = "error.campaign_quota_short_private"
			}
			return nil, kepu.Invalid(field, key).With("quota", name).
				With("lang", kepu.Msg{Key: "bank.lang." + pool}).With("have", n).With("want", q.Count)
		}
	}
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out, nil
}

// sqlDrawArgs are sqlDraw's parameters for one quota.
type sqlDrawArgs struct {
	pool     string
	q        Quota
	taken    []int64
	limit    int
	private  bool
	regionID int64
	english  bool
}

// drawQuota runs sqlDraw once: up to a.limit questions of quota a.q.
func drawQuota(ctx context.Context, tx pgx.Tx, a sqlDrawArgs) ([]drawn, error) {
	rows, err := tx.Query(ctx, sqlDraw, a.pool, a.q.Category, a.q.Dimension, a.q.Type, a.taken, a.limit, a.private, a.regionID, a.english)
	if err != nil {
		return nil, fmt.Errorf("campaign: draw: %w", err)
	}
	defer rows.Close()
	var out []drawn
	for rows.Next() {
		var d drawn
		if err := rows.Scan(&d.VersionID, &d.Dimension, &d.Options, &d.QuestionID); err != nil {
			return nil, fmt.Errorf("campaign: draw: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("campaign: draw: %w", err)
	}
	return out, nil
}

// drawLang is the language of the questions drawn for a participant who
// reads lang, and whether each is served as its English translation. A
// bilingual campaign (LangBoth) draws from the Chinese originals, so that
// every participant meets the same questions and publishing checks one
// pool; a participant who reads English gets each question's published
// English translation where the bank has one, the original where not.
func (r Rules) drawLang(lang string) (pool string, english bool) {
	if r.Lang == LangBoth {
		return "zh-CN", lang == "en"
	}
	return r.Lang, false
}

// allQuotas are the rules' quotas, then one of any question for the
// rest of r.Questions (when there is a rest).
func (r Rules) allQuotas() []Quota {
	quotas := append([]Quota(nil), r.Quotas...)
	rest := r.Questions
	for _, q := range quotas {
		rest -= q.Count
	}
	if rest > 0 {
		quotas = append(quotas, Quota{Count: rest})
	}
	return quotas
}

// shuffle returns a random permutation of n option indexes: position i
// shows option perm[i].
func shuffle(n int) []int32 {
	p := make([]int32, n)
	for i := range p {
		p[i] = int32(i)
	}
	rand.Shuffle(n, func(i, j int) { p[i], p[j] = p[j], p[i] })
	return p
}
