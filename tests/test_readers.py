"""Each reader format and encoding, and grouping of line rows into documents."""

from __future__ import annotations

import gzip
import json
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from conftest import minimal_config
from hypothesis import given
from hypothesis import strategies as st

from generator.model.canonical import make_line
from generator.problems import ProblemLog
from generator.read import RowOwners, read_export
from generator.read.export import LoadError
from generator.read.formats import LineSelection, ReadOptions, open_rows
from generator.read.lines import whole_record
from generator.read.records import LISTED_AHEAD, SHARED, SKIPPED

CUSTOMERS = 'id,name\nC1,Café Müller\nC2,"Smith, Jones & Co"\n'
ORDERS = "order,customer,date,sku,qty,price\nA-1,C1,2026-05-01,X,2,1.50\n"


def lines_of(record):
    """A record's line items as the model makes them (reading yields each line's fields)."""
    return [make_line(fields) for fields in record.lines]


def read(site, raw):
    problems = ProblemLog()
    export = read_export(site.load(raw), problems)
    return export, problems


def customer_names(export):
    return [r.fields["name"] for r in export["customers"]]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "mac_roman"])
def test_csv_encodings(site, encoding):
    site.file("customers.csv", CUSTOMERS, encoding=encoding)
    site.file("orders.csv", ORDERS)
    raw = minimal_config()
    raw["exports"]["customers"]["encoding"] = encoding
    export, problems = read(site, raw)
    assert not problems.problems
    assert customer_names(export) == ["Café Müller", "Smith, Jones & Co"]
    assert export["customers"][0].fields["id"] == "C1"  # no BOM glued to the first header


def test_bom_is_stripped_with_the_default_encoding(site):
    site.file("customers.csv", "\ufeff" + CUSTOMERS)
    site.file("orders.csv", ORDERS)
    export, problems = read(site, minimal_config())
    assert not problems.problems
    assert export["customers"][0].fields["id"] == "C1"


def test_wrong_encoding_is_a_clear_error(site):
    site.file("customers.csv", CUSTOMERS, encoding="cp1252")
    site.file("orders.csv", ORDERS)
    result = site.build()
    assert not result.ok
    assert "customers.csv" in result.failure and "utf-8-sig" in result.failure


@pytest.mark.parametrize("newline", ["\r", "\r\n", "\n"])
def test_csv_line_ends(site, newline):
    site.file("customers.csv", CUSTOMERS.replace("\n", newline))
    site.file("orders.csv", ORDERS.replace("\n", newline))
    export, problems = read(site, minimal_config())
    assert not problems.problems
    assert customer_names(export) == ["Café Müller", "Smith, Jones & Co"]
    assert len(export["orders"]) == 1


def test_csv_delimiter_quoting_and_embedded_newline(site):
    site.file("customers.csv", "id;name\nC1;'Line one\nline two; with semicolon'\nC2;'It''s'\n")
    site.file("orders.csv", ORDERS)
    raw = minimal_config()
    raw["exports"]["customers"].update(delimiter=";", quotechar="'")
    export, problems = read(site, raw)
    assert not problems.problems
    assert customer_names(export) == ["Line one\nline two; with semicolon", "It's"]
    assert [r.origin.row for r in export["customers"]] == [2, 3]


def test_csv_delimiter_sniffed(site):
    site.file("customers.csv", "id\tname\nC1\tTab Ltd\n")
    site.file("orders.csv", ORDERS)
    raw = minimal_config()
    raw["exports"]["customers"]["delimiter"] = "auto"
    export, _ = read(site, raw)
    assert customer_names(export) == ["Tab Ltd"]


def test_gzip_csv_is_read_directly(site):
    site.file("customers.csv.gz", gzip.compress(CUSTOMERS.encode()))
    site.file("orders.csv", ORDERS)
    raw = minimal_config()
    raw["exports"]["customers"]["file"] = "customers.csv.gz"
    export, _ = read(site, raw)
    assert customer_names(export) == ["Café Müller", "Smith, Jones & Co"]


@pytest.mark.parametrize("damage", ["garbled", "truncated"])
def test_a_damaged_gzip_export_is_a_message_naming_the_file(site, damage):
    """Inflated by ISA-L, whose errors are not zlib's: still a message, never a traceback."""
    text = "id,name\n" + "".join(f"C{i},Name {i}\n" for i in range(5000))
    packed = bytearray(gzip.compress(text.encode(), mtime=0))
    if damage == "garbled":
        packed[40:60] = b"\xff" * 20
    else:
        del packed[len(packed) // 2 :]
    site.file("customers.csv.gz", bytes(packed))
    site.file("orders.csv", ORDERS)
    raw = minimal_config()
    raw["exports"]["customers"]["file"] = "customers.csv.gz"
    with pytest.raises(LoadError) as caught:
        read(site, raw)
    assert "customers.csv.gz" in str(caught.value) and "cannot be read" in str(caught.value)


def test_json_with_nested_records_and_fields(site):
    doc = {
        "data": {
            "customers": [
                {"id": "C1", "profile": {"name": "Nested GmbH"}, "active": True},
                {"id": 2, "profile": {"name": "Number Id"}, "active": False},
            ]
        }
    }
    site.file("customers.json", json.dumps(doc))
    site.file("orders.csv", ORDERS)
    raw = minimal_config()
    raw["exports"]["customers"] = {
        "file": "customers.json",
        "records": "data.customers",
        "columns": {"id": "id", "name": "profile.name", "portal_enabled": "active"},
    }
    export, problems = read(site, raw)
    assert not problems.problems
    assert customer_names(export) == ["Nested GmbH", "Number Id"]
    assert [r.fields["id"] for r in export["customers"]] == ["C1", "2"]
    assert [r.fields["portal_enabled"] for r in export["customers"]] == [True, False]


def test_ndjson_reports_line_numbers(site):
    site.file("customers.csv", CUSTOMERS)
    site.file(
        "orders.ndjson",
        '{"order": "A-1", "customer": "C1", "date": "2026-05-01", "sku": "X", "qty": 1, "price": 2}\n'
        "\n"
        '{"order": "A-2", "customer": "C1", "date": "not a date", "sku": "X", "qty": 1, "price": 2}\n',
    )
    raw = minimal_config()
    raw["exports"]["orders"]["file"] = "orders.ndjson"
    export, problems = read(site, raw)
    assert len(export["orders"]) == 2
    [problem] = problems.errors
    assert (problem.file, problem.row, problem.column) == ("orders.ndjson", 3, "date")


def test_xlsx_with_typed_cells(site):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Orders"
    sheet.append(["order", "customer", "date", "sku", "qty", "price"])
    sheet.append([1001, "C1", __import__("datetime").datetime(2026, 5, 1), "X", 3, 2.5])
    sheet.append([None, None, None, None, None, None])  # a blank row in the middle
    sheet.append([1002, "C2", "2026-05-02", "Y", 1, 10])
    book.save(site.root / "export" / "orders.xlsx")
    site.file("customers.csv", CUSTOMERS)
    raw = minimal_config()
    raw["exports"]["orders"].update(file="orders.xlsx", sheet="Orders")
    export, problems = read(site, raw)
    assert not problems.problems
    orders = export["orders"]
    assert [o.fields["number"] for o in orders] == ["1001", "1002"]
    assert orders[0].fields["date"] == date(2026, 5, 1)
    assert lines_of(orders[0])[0].quantity == 3 and lines_of(orders[0])[0].total == Decimal("7.50")
    assert orders[1].origin.row == 4  # spreadsheet row numbers, blank row counted


def test_rows_of_one_document_are_grouped_into_lines(site):
    site.file("customers.csv", CUSTOMERS)
    site.file(
        "orders.csv",
        "order,customer,date,sku,qty,price\n"
        "A-1,C1,2026-05-01,X,2,1.50\n"
        "A-2,C2,2026-05-03,Z,1,9.99\n"
        "A-1,C1,2026-05-01,Y,1,3.00\n",
    )
    export, problems = read(site, minimal_config())
    assert not problems.problems
    orders = {r.fields["number"]: r for r in export["orders"]}
    assert [line.sku for line in lines_of(orders["A-1"])] == ["X", "Y"]
    assert orders["A-1"].rows == 2
    assert sum(line.total for line in lines_of(orders["A-1"])) == Decimal("6.00")


def test_rows_blank_in_a_skip_field_are_left_out_and_counted_by_field(site):
    site.file("customers.csv", CUSTOMERS)
    site.file(
        "orders.csv",
        "order,customer,date,sku,qty,price\n"
        "A-1,C1,2026-05-01,X,2,1.50\n"
        "A-2,,2026-05-03,Z,1,9.99\n"
        "A-1,C1,,Y,1,3.00\n"
        "A-3,  ,,Y,1,3.00\n"
        "A-2,,2026-05-03,W,3,1.00\n"  # the header cells of a row skipped before: skipped again, counted again
        "A-1,C1,,Q,5,1.00\n"
        "A-1,C1,2026-05-01,Q,1,1.00\n",  # those of a row read before: the same record's
    )
    raw = minimal_config()
    raw["exports"]["orders"]["skip_when_blank"] = ["date", "customer"]
    export, problems = read(site, raw)
    assert [r.fields["number"] for r in export["orders"]] == ["A-1"]
    assert export["orders"][0].rows == 2 and [line["sku"] for line in export["orders"][0].lines] == ["X", "Q"]
    # each row counted once, under its first blank field in the mapping's order (customer, date)
    assert dict(problems.skipped) == {
        "orders (orders.csv): rows with no customer": 3,
        "orders (orders.csv): rows with no date": 2,
    }


def test_a_skip_field_whose_column_is_missing_skips_no_row(site):
    site.file("customers.csv", CUSTOMERS)
    site.file("orders.csv", ORDERS)
    raw = minimal_config()
    raw["exports"]["orders"]["columns"]["status"] = "state"  # not in the file
    raw["exports"]["orders"]["skip_when_blank"] = ["status"]
    export, problems = read(site, raw)
    assert [r.fields["number"] for r in export["orders"]] == ["A-1"]
    assert not problems.skipped
    assert [(p.column, p.kind) for p in problems.errors] == [("state", "missing-column")]


def test_lines_from_a_file_of_their_own(site):
    site.file("customers.csv", CUSTOMERS)
    site.file("orders.csv", "order,customer,date\nA-1,C1,2026-05-01\nA-2,C2,2026-05-03\n")
    site.file("lines.csv", "order,sku,qty,price,disc\nA-1,X,10,2.00,0.1\nA-2,Y,1,5,0\nA-1,Z,1,1,0\nA-9,Q,1,1,0\n")
    raw = minimal_config()
    raw["exports"]["orders"] = {
        "file": "orders.csv",
        "columns": {"number": "order", "customer": "customer", "date": "date"},
        "lines": {
            "file": "lines.csv",
            "columns": {
                "document": "order",
                "sku": "sku",
                "quantity": "qty",
                "unit_price": "price",
                "discount_rate": "disc",
            },
        },
    }
    export, problems = read(site, raw)
    orders = {r.fields["number"]: r for r in export["orders"]}
    assert [line.sku for line in lines_of(orders["A-1"])] == ["X", "Z"]
    assert lines_of(orders["A-1"])[0].total == Decimal("18.00")  # 10 × 2.00 less 10 %
    [unknown] = problems.errors
    assert (unknown.file, unknown.row, unknown.column) == ("lines.csv", 5, "order")
    assert "unknown order 'A-9'" in unknown.message


def test_decimal_comma_and_thousands(site):
    site.file("customers.csv", CUSTOMERS)
    site.file("orders.csv", "order;customer;date;sku;qty;price\nA-1;C1;01.05.2026;X;1.000;1.234,56\n")
    raw = minimal_config()
    raw["exports"]["orders"].update(
        delimiter=";", decimal_separator=",", thousands_separator=".", date_formats=["%d.%m.%Y"]
    )
    export, problems = read(site, raw)
    assert not problems.problems
    line = lines_of(export["orders"][0])[0]
    assert (line.quantity, line.unit_price) == (Decimal("1000"), Decimal("1234.56"))
    assert export["orders"][0].fields["date"] == date(2026, 5, 1)


def test_open_table_streams_rows(tmp_path):
    """A large CSV is read row by row: the first row arrives before the file is consumed."""
    path = tmp_path / "big.csv"
    with path.open("w") as out:
        out.write("a,b\n")
        for i in range(200_000):
            out.write(f"{i},x\n")
    table = open_rows(path, ReadOptions(format="csv"))
    first = next(table.rows)
    assert first == (2, {"a": "0", "b": "x"})
    assert table.rows.gi_frame is not None  # a live generator, not a list


def test_parallel_read_equals_serial_read(tmp_path):
    """The demo export read with its entities split over two processes gives the same records and problems."""
    from conftest import demo_config

    config = demo_config(tmp_path)
    serial_problems, parallel_problems = ProblemLog(), ProblemLog()
    serial = read_export(config, serial_problems, parallel=False)
    parallel = read_export(config, parallel_problems, parallel=True)
    assert list(parallel) == list(serial)
    for name in serial:
        assert [(r.origin, r.fields, r.lines, r.bad) for r in parallel[name]] == [
            (r.origin, r.fields, r.lines, r.bad) for r in serial[name]
        ], name
    assert parallel_problems.problems == serial_problems.problems


def test_whose_rows_are_listed_without_room_for_the_rows_a_file_skips(site):
    """A row numbered far past the rows read (a sheet's row 200,000,000, or one record after a
    hundred thousand blank lines that compress to a few hundred bytes) is kept apart: the list
    of owners grows with the rows read, never with a row number."""
    blank = 100_000
    site.file("customers.ndjson.gz", gzip.compress(b"\n" * blank + b'{"id": "C1", "name": "Alpha"}\n'))
    site.file("orders.csv", "order,customer,date,sku,qty,price\nA-1,C1,2026-05-01,X,2,1.50\n")
    raw = minimal_config()
    raw["exports"]["customers"] = {"file": "customers.ndjson.gz", "columns": {"id": "id", "name": "name"}}
    owners = RowOwners()
    read_export(site.load(raw), ProblemLog(), parallel=False, owners=owners)
    assert owners.owner("customers.ndjson.gz", blank + 1) == "C1" and owners.owner("orders.csv", 2) == "C1"
    assert len(owners.rows["customers.ndjson.gz"]) <= LISTED_AHEAD + 1


def test_a_run_of_rows_far_down_a_file_is_listed_from_its_first_row():
    """A chunk of a long file read alone (a batched build's first pass) starts at row 400,002:
    its rows are listed from there (a list, not a dict of far rows), and rows before it, read
    after, are kept apart."""
    owners = RowOwners()
    for number in range(400_002, 450_002):
        owners.own("f", number, "A" if number % 2 else "B")
    owners.own("f", 400_003, "C")  # a second entity reads the row for someone else
    owners.own("f", 17, "D")
    assert owners.starts["f"] == 400_002 and len(owners.rows["f"]) == 50_000
    assert owners.far["f"] == {17: "D"}
    assert owners.of_rows("f", 400_001, 4) == [SKIPPED, "B", SHARED, "B"]
    assert owners.owner("f", 17) == "D" and owners.owner("f", 450_001) == "A" and owners.owner("f", 450_002) == SKIPPED
    merged = RowOwners()
    merged.update(owners)
    assert merged.of_rows("f", 400_000, 50_004) == owners.of_rows("f", 400_000, 50_004)


def test_row_owners_merge_far_and_listed_rows_alike():
    one, other = RowOwners(), RowOwners()
    for number in range(2, 10):
        one.own("f", number, "A")
    one.own("f", 200_000_000, "A")
    other.own("f", 200_000_000, "B")  # two customers read the same row: everyone's, to be safe
    other.own("f", 5, "B")
    other.own("f", 7, None)
    one.update(other)
    assert one.owner("f", 200_000_000) == other.owner("f", 7) == "\0shared"
    assert one.owner("f", 5) == "\0shared" and one.owner("f", 3) == "A"
    assert one.owner("f", 199_999_999) == one.owner("g", 2) == "\0skipped"
    assert len(one.rows["f"]) == 8 and one.starts["f"] == 2  # (listed from the first row owned)


@given(
    st.lists(st.tuples(st.integers(0, 3 * LISTED_AHEAD), st.sampled_from(["A", "B", None, SKIPPED])), max_size=60),
    st.integers(-20, 20),
    st.integers(0, 50),
)
def test_the_owners_of_a_run_of_rows_are_each_row_s_owner(owned, offset, count):
    """`of_rows` (a whole file's rows at once) gives what `owner` gives row by row: rows listed,
    rows kept apart (numbered far past the rows listed), rows no one read."""
    owners = RowOwners()
    for number, owner in sorted(owned, key=lambda entry: entry[0] % 7):  # (out of order: some rows land far)
        owners.own("f", number, owner)
    for first in {0, *(max(0, number + offset) for number, _ in owned)}:  # runs around the rows owned
        assert owners.of_rows("f", first, count) == [owners.owner("f", n) for n in range(first, first + count)]
    assert owners.of_rows("unread", offset + 20, count) == [SKIPPED] * count


def test_reading_only_whose_rows_are_finds_the_owners_a_full_read_finds(site):
    """The batched build's first pass maps only the fields that decide whose a row is (and those
    they are worked out from, here a customer made from another field's text); every other field
    and the lines stay unread. Owners, claimed numbers, skipped rows and bad rows are a full read's."""
    site.file("customers.csv", 'id,name\nC1,Alpha\nC2,Beta\nC3,"Gamma, Ltd"\n')
    site.file(
        "orders.csv",
        "order,rep,date,sku,qty,price\n"
        "A-1,acct C1,2026-05-01,X,2,1.50\n"
        "A-1,acct C1,not a date,Y,x,3\n"  # bad cells the first pass never parses: still C1's
        "A-2,acct C2,2026-05-03,Z,1,9.99\n"
        "A-2,acct C3,2026-05-03,Z,1,9.99\n"  # one number, two customers: the record's (left out, for both)
        "A-3,,2026-05-04,Z,1,1\n"  # no customer: skipped
        "A-4,acct C3,,Z,1,1\n"  # no date: skipped, counted under date
        "A-5,acct C3,2026-05-04,Z\n"  # fields do not line up: a bad row
        "A-6,acct C2,2026-05-05,Q,1,2\n",
    )
    raw = minimal_config()
    raw["exports"]["orders"]["columns"] = {
        "number": "order",
        "sales_rep": {"column": "rep", "match": r"^acct (\w+)$"},
        "customer": {"template": "{sales_rep}"},
        "date": "date",
    }
    raw["exports"]["orders"]["skip_when_blank"] = ["customer", "date"]
    config = site.load(raw)
    runs = {}
    for only in (False, True):
        problems, owners = ProblemLog(), RowOwners()
        export = read_export(config, problems, parallel=False, owners=owners, owners_only=only)
        skipped_rows = [(p.file, p.row, p.kind) for p in problems.problems if owners.owner(p.file, p.row) == SKIPPED]
        runs[only] = (owners.of_rows("orders.csv", 1, 9), owners.far, owners.keys, dict(problems.skipped), skipped_rows)
        if only:
            assert all(r.lines is None for r in export["orders"])
            assert {name for r in export["orders"] for name, value in r.fields.items() if value is not None} == {
                "number",
                "customer",
                "sales_rep",
                "date",  # a skip field
            }
    assert runs[True] == runs[False]
    rows, _, keys, skipped, bad = runs[True]
    assert rows == [SKIPPED, "C1", "C1", "C2", "C2", SKIPPED, SKIPPED, SKIPPED, "C2"]  # (row 1: the header)
    assert keys[("orders", "A-1")] == "C1" and keys[("orders", "A-6")] == "C2"
    assert skipped == {"orders (orders.csv): rows with no customer": 1, "orders (orders.csv): rows with no date": 1}
    assert bad == [("orders.csv", 8, "bad-row")]


def test_a_skip_field_whose_cell_does_not_match_its_pattern_is_reported_not_raised(site):
    """Not blank, so the row is not skipped: mapping it says what is wrong, and where (a
    mismatched cell used to escape the reader as a traceback)."""
    site.file("customers.csv", CUSTOMERS)
    site.file("orders.csv", "order,customer,date,sku,qty,price\nA-1,xC1,2026-05-01,X,2,1.50\nA-2,,2026-05-01,X,2,1\n")
    raw = minimal_config()
    raw["exports"]["orders"]["columns"]["customer"] = {"column": "customer", "match": r"^C\d+$"}
    raw["exports"]["orders"]["skip_when_blank"] = ["customer"]
    export, problems = read(site, raw)
    assert [(r.fields["number"], r.bad) for r in export["orders"]] == [("A-1", True)]
    assert [(p.row, p.column, p.kind) for p in problems.errors] == [(2, "customer", "bad-text")]
    assert "does not match the pattern" in problems.errors[0].message
    assert dict(problems.skipped) == {"orders (orders.csv): rows with no customer": 1}


def test_a_repeated_cell_reads_the_same_and_a_repeated_bad_cell_is_reported_on_every_row(site):
    """Each distinct cell of a column is read once and its value reused; a cell that cannot be
    read is not remembered, so every row holding it is reported."""
    site.file("customers.csv", CUSTOMERS)
    site.file(
        "orders.csv",
        "order,customer,date,sku,qty,price\n"
        "A-1,C1,2026-05-01,X,2,1.50\n"
        "A-1,C1,2026-05-01,X,2,1.50\n"
        "A-2,C1,2026-05-02,X,two,1.50\n"
        "A-3,C1,2026-05-03,X,two, 1.50 \n",
    )
    export, problems = read(site, minimal_config())
    lines = [line for record in export["orders"] for line in record.lines]
    assert [(line["quantity"], line["unit_price"]) for line in lines] == [
        (Decimal("2"), Decimal("1.50")),
        (Decimal("2"), Decimal("1.50")),
    ]
    bad = [(4, "qty", "bad-decimal"), (5, "qty", "bad-decimal")]
    assert [(p.row, p.column, p.kind) for p in problems.errors] == bad
    assert [r.bad for r in export["orders"]] == [False, True, True]


@given(st.lists(st.text(alphabet="ab,\"'\r ", max_size=12), min_size=1, max_size=12), st.sampled_from(['"', "'"]))
def test_a_whole_file_is_judged_line_by_line_as_each_line_is(lines, quotechar):
    """`every_line` (which looks only at lines holding a quote) says what checking each line says."""
    check = whole_record(",", quotechar)
    encoded = [line.encode("ascii") for line in lines]
    assert check.every_line(b"\n".join(encoded)) == all(map(check, encoded))


def test_a_quoted_field_going_on_past_its_line_is_found_in_a_whole_file():
    check = whole_record(",", '"')
    assert check.every_line(b'E-1,5" pipe,"2 1",7" x\nE-2,"a, b",1')  # inch marks, a quoted delimiter
    assert not check.every_line(b'E-1,D1,5" pipe,"2\n1",7" x\n')  # a quoted field over two lines
    assert not check.every_line(b"E-1,ok\n" * 1000 + b'E-2,"open')  # on the last line, without a newline


def test_a_chunk_every_entity_reads_is_parsed_once_and_fails_where_it_is_read(tmp_path):
    """A batched build's chunk is read by customers and invoices alike: parsed once for both (the
    same rows come back), and a line that cannot be decoded fails as the rows are read, where
    the reader says which file cannot be decoded, not when the table is opened."""
    options = ReadOptions(format="csv", encoding="utf-8", delimiter=",", quotechar='"')
    lines = [(2, b"A-1,C1"), (3, b'A-2,"C2, Ltd"'), (4, b"A-3,")]
    shared = LineSelection(b"order,customer", lines, shared=True)
    first, second = (list(shared.table(tmp_path / "o.csv", options).rows) for _ in range(2))
    assert first == [
        (2, {"order": "A-1", "customer": "C1"}),
        (3, {"order": "A-2", "customer": "C2, Ltd"}),
        (4, {"order": "A-3", "customer": ""}),
    ]
    assert all(a[1] is b[1] for a, b in zip(first, second, strict=True))  # the same rows: parsed once
    alone = LineSelection(b"order,customer", lines)
    assert list(alone.table(tmp_path / "o.csv", options).rows) == first
    assert next(iter(alone.table(tmp_path / "o.csv", options).rows))[1] is not first[0][1]
    broken = LineSelection(b"order,customer", [(2, b"A-1,\xff")], shared=True)
    rows = broken.table(tmp_path / "o.csv", options).rows  # opened: nothing read yet
    with pytest.raises(UnicodeDecodeError):
        next(rows)
