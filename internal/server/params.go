package server

import (
	"math"
	"reflect"
	"strconv"
	"strings"

	"github.com/kepu/kepu/internal/kepu"
)

// Integer inputs. Every integer the API reads from a client — route
// parameters (paramID), query parameters (queryInt) and JSON fields
// (decodeJSON → checkIntRanges) — is checked here before any SQL sees it,
// so a number past a column's range is a 400 naming the field, never a
// Postgres or encoding error (500).
//
// The bound is int4 for all of them: int4 is the narrowest integer column
// (seq, points, counts) and the type Postgres gives an untyped parameter
// compared with a literal. Ids are bigint in the tables, but the API
// accepts ids up to maxID (2,147,483,647) only: a city's regions, schools,
// users, questions, campaigns and attempts stay far below that, and a
// larger id always names nothing.
const (
	maxInt4 = math.MaxInt32
	minInt4 = math.MinInt32
	maxID   = maxInt4
)

// parseID parses a positive id (1..maxID); kepu.Invalid on field
// ("error.invalid_id") otherwise.
func parseID(field, v string) (int64, error) {
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 || id > maxID {
		return 0, kepu.Invalid(field, "error.invalid_id")
	}
	return id, nil
}

// checkIntRanges walks a decoded request body and refuses any integer
// outside int4, naming the field by its JSON path (rules.quotas.0.count);
// the services check each field's own bounds afterwards.
func checkIntRanges(v reflect.Value, path string) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return checkIntRanges(v.Elem(), path)
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			p := path
			if !f.Anonymous || name != "" { // an embedded struct's fields are the outer object's
				if name == "" {
					name = f.Name
				}
				p = joinPath(path, name)
			}
			if err := checkIntRanges(v.Field(i), p); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 { // []byte, json.RawMessage: not numbers
			return nil
		}
		for i := range v.Len() {
			if err := checkIntRanges(v.Index(i), joinPath(path, strconv.Itoa(i))); err != nil {
				return err
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if err := checkIntRanges(it.Value(), joinPath(path, toString(it.Key().Interface()))); err != nil {
				return err
			}
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if n := v.Int(); n < minInt4 || n > maxInt4 {
			return numberRange(path)
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if v.Uint() > maxInt4 {
			return numberRange(path)
		}
	}
	return nil
}

func numberRange(field string) error {
	return kepu.Invalid(field, "error.number_range").With("field", field)
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
