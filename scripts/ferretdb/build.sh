#!/usr/bin/env bash
# Build FerretDB (scripts/ferretdb/main.go) into $1 with one fix applied to the module's source.
#
# The fix: FerretDB v1.24.2's SQLite backend looks documents up by `_id` with the expression
# `_ferretdb_sjson->'$._id'`, but creates the unique `_id` index on `_ferretdb_sjson->"_id"`. SQLite
# uses an expression index only for the same expression, so every find, update and delete by `_id`
# scanned the whole table (measured: 18 ms for a missing `_id` among 5,000 documents, 22 ms for an
# update_one by `_id`). Using the index's own expression makes them key look-ups.
#
# The second fix: the backend narrowed a query to its `_id` only when the filter was `_id` ALONE, so
# `{_id: x, status: "active"}` (a guarded update, a find with a condition) read the whole table. Every
# handler (find, update, delete, findAndModify, count) applies the full filter to what the backend
# returns, so narrowing by `_id` whenever the filter has a plain string or ObjectID `_id` is exact.
#
# The third fix (id_range.py, which says why it is exact): an `_id` range `{$gte, $lt}` of plain
# strings is read from the `_id` index (the storage kit's KeySet lists a value's key documents so).
set -euo pipefail
out="$1"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export GOTOOLCHAIN=local GOFLAGS=-mod=mod

cp "$here/main.go" "$here/go.mod" "$here/go.sum" "$work/"
cd "$work"
src="$(go mod download -json github.com/FerretDB/FerretDB | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
[ -d "$src" ] || { echo "build.sh: FerretDB's module source not found" >&2; exit 1; }
cp -r "$src" "$work/ferretdb-src"
chmod -R u+w "$work/ferretdb-src"
meta="$work/ferretdb-src/internal/backends/sqlite/metadata/metadata.go"
sed -i 's|IDColumn = DefaultColumn + "->'"'"'\$\._id'"'"'"|IDColumn = DefaultColumn + `->"_id"`|' "$meta"
grep -q 'IDColumn = DefaultColumn + `->"_id"`' "$meta" || { echo "build.sh: the _id index fix did not apply" >&2; exit 1; }
coll="$work/ferretdb-src/internal/backends/sqlite/collection.go"
[ "$(grep -c 'if params.Filter.Len() == 1 {' "$coll")" = 2 ] || { echo "build.sh: the _id pushdown fix did not apply" >&2; exit 1; }
sed -i 's|if params.Filter.Len() == 1 {|if params.Filter.Len() >= 1 {|' "$coll"
python3 "$here/id_range.py" "$coll"
go mod edit -replace "github.com/FerretDB/FerretDB=./ferretdb-src"
go build -trimpath -o "$out" . || GOSUMDB=off go build -trimpath -ldflags=-checklinkname=0 -o "$out" .
