"""The third fix to FerretDB's SQLite backend (applied by build.sh): an `_id` range is read from the index.

A filter `{"_id": {"$gte": a, "$lt": b}}` (the storage kit's KeySet: every key document of one value,
`<kind>:<value>:` up to `<kind>:<value>;`) made the backend read the whole table. It now asks SQLite for
`_id >= a AND _id < b` on the same `_id` expression index the look-ups use. The index holds each `_id`'s
JSON text (`"abc"`, quotes included), which sorts like the string itself when the string is made only of
`[A-Za-z0-9:;._-]` (no character below the closing quote, nothing escaped): the range is narrowed only
then, and every handler still applies the whole filter to what the backend returns. `explain` says so
(its plan: `SEARCH ... USING INDEX`), which tests/integration of the storage kit check.

And a list of `_id`s, `{"_id": {"$in": [a, b, ...]}}` (1 to 1000 strings or ObjectIDs: the kit's
`Store.by_keys`, a page of the audit log, the accounts named on it), is asked for as `_id IN (...)` with the
same JSON texts the equality look-up uses, so it is exact for any string; before, it read the whole table
(FerretDB pushed down only a plain `_id`), so the kit sent one look-up per key.
"""
import sys

path = sys.argv[1]
src = open(path).read()
query_switch = """		switch v.(type) {
		case string, types.ObjectID:
			whereClause = fmt.Sprintf(` WHERE %s = ?`, metadata.IDColumn)
			args = []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}
		}
"""
ranged = """		switch v.(type) {
		case string, types.ObjectID:
			whereClause = fmt.Sprintf(` WHERE %s = ?`, metadata.IDColumn)
			args = []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}
		case *types.Document:
			if lo, hi, ok := kadraIDRange(v.(*types.Document)); ok {
				whereClause = fmt.Sprintf(` WHERE %s >= ? AND %s < ?`, metadata.IDColumn, metadata.IDColumn)
				args = []any{lo, hi}
			} else if ids, ok := kadraIDIn(v.(*types.Document)); ok {
				whereClause = fmt.Sprintf(` WHERE %s IN (%s)`, metadata.IDColumn, kadraPlaceholders(len(ids)))
				args = ids
			}
		}
"""
explain_switch = """		switch v.(type) {
		case string, types.ObjectID:
			filterPushdown = true
			whereClause = fmt.Sprintf(` WHERE %s = ?`, metadata.IDColumn)
			args = []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}
		}
"""
explained = """		switch v.(type) {
		case string, types.ObjectID:
			filterPushdown = true
			whereClause = fmt.Sprintf(` WHERE %s = ?`, metadata.IDColumn)
			args = []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}
		case *types.Document:
			if lo, hi, ok := kadraIDRange(v.(*types.Document)); ok {
				filterPushdown = true
				whereClause = fmt.Sprintf(` WHERE %s >= ? AND %s < ?`, metadata.IDColumn, metadata.IDColumn)
				args = []any{lo, hi}
			} else if ids, ok := kadraIDIn(v.(*types.Document)); ok {
				filterPushdown = true
				whereClause = fmt.Sprintf(` WHERE %s IN (%s)`, metadata.IDColumn, kadraPlaceholders(len(ids)))
				args = ids
			}
		}
"""
helper = '''

// kadraIDRange returns the JSON texts of a and b for `{"$gte": a, "$lt": b}` when both are strings of
// [A-Za-z0-9:;._-], whose JSON texts sort like the strings (Kadra's build, scripts/ferretdb/id_range.py).
func kadraIDRange(d *types.Document) (string, string, bool) {
	if d.Len() != 2 {
		return "", "", false
	}
	lo, errLo := d.Get("$gte")
	hi, errHi := d.Get("$lt")
	if errLo != nil || errHi != nil {
		return "", "", false
	}
	los, okLo := lo.(string)
	his, okHi := hi.(string)
	if !okLo || !okHi || !kadraPlain(los) || !kadraPlain(his) {
		return "", "", false
	}
	return string(must.NotFail(sjson.MarshalSingleValue(los))), string(must.NotFail(sjson.MarshalSingleValue(his))), true
}

// kadraIDIn returns the JSON texts of the values of `{"$in": [v1, v2, ...]}` when there are 1 to 1000 and each is
// a string or an ObjectID: the same texts the equality look-up by `_id` asks the index for, so `IN` is exact
// (the storage kit's Store.by_keys reads a page's documents so, in one query instead of one per key).
func kadraIDIn(d *types.Document) ([]any, bool) {
	if d.Len() != 1 {
		return nil, false
	}
	v, err := d.Get("$in")
	if err != nil {
		return nil, false
	}
	arr, ok := v.(*types.Array)
	if !ok || arr.Len() == 0 || arr.Len() > 1000 {
		return nil, false
	}
	ids := make([]any, arr.Len())
	for i := 0; i < arr.Len(); i++ {
		el := must.NotFail(arr.Get(i))
		switch el.(type) {
		case string, types.ObjectID:
			ids[i] = string(must.NotFail(sjson.MarshalSingleValue(el)))
		default:
			return nil, false
		}
	}
	return ids, true
}

func kadraPlaceholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func kadraPlain(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == ':' || r == ';' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}
'''
if src.count(query_switch) != 1 or src.count(explain_switch) != 1:
    sys.exit("id_range.py: Query's and Explain's _id switches not found once each")
src = src.replace(query_switch, ranged).replace(explain_switch, explained) + helper
open(path, "w").write(src)
