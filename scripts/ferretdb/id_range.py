"""The third fix to FerretDB's SQLite backend (applied by build.sh): an `_id` range is read from the index.

A filter `{"_id": {"$gte": a, "$lt": b}}` (the storage kit's KeySet: every key document of one value,
`<kind>:<value>:` up to `<kind>:<value>;`) made the backend read the whole table. It now asks SQLite for
`_id >= a AND _id < b` on the same `_id` expression index the look-ups use. The index holds each `_id`'s
JSON text (`"abc"`, quotes included), which sorts like the string itself when the string is made only of
`[A-Za-z0-9:;._-]` (no character below the closing quote, nothing escaped): the range is narrowed only
then, and every handler still applies the whole filter to what the backend returns. `explain` says so
(its plan: `SEARCH ... USING INDEX`), which tests/integration of the storage kit check.
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
