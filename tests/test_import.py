"""leadcli import end to end: formats, mapping, values, rejects, duplicates, runs and undo."""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path

import dbshim
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def write(tmp_path: Path, text: str, name: str = "in.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def leads(cli) -> list[dict]:
    return json.loads(cli.ok("--format", "json", "list", "--archived", "--sort", "id", "--asc").stdout)


def summary(cli, *args, **kw) -> dict:
    return json.loads(cli.ok("import", *args, "--json", **kw).stdout)


def table(db: Path, sql: str, *params) -> list[tuple]:
    con = dbshim.connect(db)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


# ---------------------------------------------------------------- the example file


def test_example_file_imports_every_row_and_maps_every_standard_column(cli, isolated_db):
    out = summary(cli, str(EXAMPLES / "leads.csv"))
    with open(EXAMPLES / "leads.csv", newline="", encoding="utf-8") as fh:
        source = list(csv.DictReader(fh))
    assert out["rows"] == out["created"] == len(source) == 200
    assert out["rejected"] == 0 and out["encoding"] == "utf-8" and out["delimiter"] == ","
    # Where the time went, for a cron job watching how long other writers were kept waiting.
    assert set(out["seconds"]) == {"read", "write", "checkpoint"}
    assert all(v >= 0 for v in out["seconds"].values())
    got = leads(cli)
    by_ext = {lead["external_id"]: lead for lead in got}
    assert set(by_ext) == {row["Lead ID"] for row in source}
    for row in source:
        lead = by_ext[row["Lead ID"]]
        assert lead["first_name"] == row["First Name"] and lead["last_name"] == row["Last Name"]
        assert lead["name"] == f"{row['First Name']} {row['Last Name']}"
        assert lead["email"] == row["Email"] and lead["company"] == row["Company"]
        assert lead["title"] == row["Title"] and lead["source"] == row["Lead Source"]
        assert lead["owner"] == row["Lead Owner"]
        expected_value = float(row["Estimated Value"].replace(",", "")) if row["Estimated Value"] else None
        assert (lead["value"] if lead["value"] is None else float(lead["value"])) == expected_value
        assert lead["created_at"] == row["Created Date"].replace(" ", "T") + ":00Z"
        status = {"Open - Not Contacted": "new", "Working - Contacted": "contacted", "Qualified": "qualified",
                  "Closed - Converted": "converted", "Closed - Not Converted": "disqualified"}[row["Lead Status"]]
        assert lead["status"] == status
        if status == "converted":
            assert lead["converted_at"] == row["Converted Date"] + "T00:00:00Z"
        if status == "disqualified":
            assert lead["status_reason"] == (row["Disqualified Reason"] or None)
        custom = {k: row[k] for k in ("Industry", "No. of Employees", "Country", "Newsletter") if row[k]}
        assert lead["fields"] == custom


def test_imported_leads_get_their_status_history(cli):
    summary(cli, str(EXAMPLES / "leads.csv"))
    converted = [lead for lead in leads(cli) if lead["status"] == "converted"][0]
    card = json.loads(cli.ok("-f", "json", "show", str(converted["id"])).stdout)
    moves = [(h["from"], h["to"], h["at"]) for h in card["history"]]
    assert moves[0] == (None, "new", converted["created_at"])
    assert moves[-1] == ("new", "converted", converted["converted_at"])


def test_reimporting_the_same_file_changes_nothing(cli, isolated_db):
    summary(cli, str(EXAMPLES / "leads.csv"))
    before = cli.ok("export").stdout
    again = summary(cli, str(EXAMPLES / "leads.csv"))
    assert again["created"] == again["updated"] == 0 and again["skipped"] == 200
    assert cli.ok("export").stdout == before
    for mode in ("merge", "update"):
        res = summary(cli, str(EXAMPLES / "leads.csv"), "--on-duplicate", mode)
        assert res["created"] == res["updated"] == 0, mode
        assert cli.ok("export").stdout == before


# ---------------------------------------------------------------- reading: encodings, delimiters, junk

HEADER = "Name,Email,Company,Notes\n"


@pytest.mark.parametrize("encoding, reported", [
    ("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("utf-16", "utf-16"),
    ("cp1252", "cp1252"), ("cp1251", "cp1251"),
])
def test_encodings_are_detected(cli, tmp_path, encoding, reported):
    names = {"cp1251": ["Иван Петров", "Мария Смирнова", "Ольга Кузнецова"]}.get(
        encoding, ["José Müller", "Zoë Ørsted", "François Façade"])
    notes = "€ 500 déjà vu" if encoding != "cp1251" else "Хороший клиент; звонить утром"
    text = "Name,Email,Notes\n" + "".join(f"{n},p{i % 3}@ex.com,{notes}\n" for i, n in enumerate(names * 20))
    path = write(tmp_path, text, encoding=encoding)
    out = summary(cli, str(path))
    assert out["encoding"] == reported and out["created"] == 3 and out["skipped"] == 57
    got = leads(cli)
    assert [g["name"] for g in got] == names and got[0]["notes"] == notes


def test_latin1_file_and_encoding_override(cli, tmp_path):
    path = write(tmp_path, "Name;City\nJosé;Bragança\n", encoding="latin-1")
    out = summary(cli, str(path), "--encoding", "latin-1")
    assert out["encoding"] == "iso8859-1" and out["delimiter"] == ";"
    assert leads(cli)[0]["fields"] == {"City": "Bragança"}


def test_bad_encoding_override_is_a_clear_error(cli, tmp_path):
    path = write(tmp_path, "Name\nJosé\n", encoding="cp1252")
    result = cli("import", str(path), "--encoding", "utf-8")
    assert result.exit_code == 1 and "--encoding" in result.stderr and "Traceback" not in result.stderr
    assert cli("import", str(path), "--encoding", "klingon").exit_code == 2


@pytest.mark.parametrize("delim, name", [(",", ","), (";", ";"), ("\t", "tab"), ("|", "|")])
def test_delimiters_are_sniffed(cli, tmp_path, delim, name):
    rows = [["Name", "Email", "Estimated Value"], ["Ana, Jr.", "ana@x.io", "1,5"], ["Bo", "bo@x.io", "7"]]
    buf = io.StringIO()
    csv.writer(buf, delimiter=delim, lineterminator="\r\n").writerows(rows)
    out = summary(cli, str(write(tmp_path, buf.getvalue())))
    assert out["delimiter"] == name and out["created"] == 2
    assert [g["name"] for g in leads(cli)] == ["Ana, Jr.", "Bo"]


def test_delimiter_override(cli, tmp_path):
    path = write(tmp_path, "Name|Memo\nAna|a;b;c\n")
    summary(cli, str(path), "--delimiter", "|")
    assert leads(cli)[0]["fields"] == {"Memo": "a;b;c"}
    assert cli("import", str(path), "--delimiter", "::").exit_code == 2


def test_excel_sep_line_crlf_quoted_newlines_trailing_column_and_footer(cli, tmp_path):
    text = ('sep=;\r\n'
            '"Full Name";"Email";"Description";\r\n'
            '"Ana Silva";"ana@x.io";"line one\r\nline two";\r\n'
            '"Bo Chen";"bo@x.io";"";\r\n'
            '\r\n\r\n'
            '"Grand Totals (2 records)"\r\n'
            '\r\n'
            '"Confidential Information - Do Not Distribute"\r\n'
            '"Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."\r\n\r\n')
    out = summary(cli, str(write(tmp_path, text)))
    assert out["rows"] == 2 and out["created"] == 2 and out["rejected"] == 0 and out["delimiter"] == ";"
    ana, bo = leads(cli)
    assert ana["notes"] == "line one\r\nline two" and ana["fields"] == {} and bo["notes"] is None


def test_lf_salesforce_report_with_every_value_quoted(cli, tmp_path):
    text = ('"First Name","Last Name","Company / Account","Lead Owner","Lead Status"\n'
            '"Ana","Silva","Acme","maria","Working - Contacted"\n\n'
            '"Grand Totals (1 records)"\n\n"Confidential Information - Do Not Distribute"\n'
            '"Copyright © 2000-2025 salesforce.com, inc. All rights reserved."\n')
    summary(cli, str(write(tmp_path, text)))
    (lead,) = leads(cli)
    assert (lead["name"], lead["company"], lead["owner"], lead["status"]) == ("Ana Silva", "Acme", "maria", "contacted")


def test_stdin_and_gzip(cli, tmp_path):
    out = summary(cli, "-", input="Name,Email\nAna,ana@x.io\n")
    assert out["created"] == 1 and out["file"] == "-"
    gz = tmp_path / "more.csv.gz"
    gz.write_bytes(gzip.compress(b"Name,Email\nBo,bo@x.io\n"))
    assert summary(cli, str(gz))["created"] == 1
    assert [g["name"] for g in leads(cli)] == ["Ana", "Bo"]


def test_unreadable_inputs_are_clear_errors(cli, tmp_path):
    for args, text in ((["nope.csv"], "no such file"), ([str(write(tmp_path, ""))], "empty"),
                       ([str(tmp_path)], "folder")):
        result = cli("import", *args)
        assert result.exit_code == 1 and text in result.stderr and "Traceback" not in result.stderr


# ---------------------------------------------------------------- mapping


def test_crm_headers_are_recognised(cli, tmp_path):
    hubspot = ('"Record ID","First Name","Last Name","Email","Phone Number","Contact owner","Lead Status",'
               '"Create Date","Associated Company","Lifecycle Stage"\n'
               '"501","Ana","Silva","ana@x.io","+1 415 555 0100","maria@x.io","IN_PROGRESS","2024-03-12 09:14",'
               '"Acme","Lead"\n')
    pipedrive = ('Lead - Title,Person - Name,Person - Email (Work),Person - Phone (Work),Organization - Name,'
                 'Lead - Value,Lead - Owner,Lead - Source\n'
                 'Acme deal,Bo Chen,bo@x.io,+44 20 7946 0958,Globex,"1.234,50",li,Web\n')
    zoho = ('Lead Id,First Name,Last Name,Company,Email,Lead Source,Lead Status,Annual Revenue,Created Time\n'
            '4150868000002748014,Cy,Doe,Initech,cy@x.io,Cold Call,Junk Lead,100000,12/28/2018 11:04\n')
    bitrix = ('"ID";"Название лида";"Имя";"Фамилия";"Рабочий телефон";"Рабочий e-mail";"Название компании";'
              '"Стадия";"Источник";"Ответственный";"Возможная сумма";"Валюта";"Дата создания"\n'
              '"7";"Заявка с сайта";"Иван";"Петров";"+7 495 123-45-67";"ivan@x.ru";"ООО Ромашка";"В работе";'
              '"Веб-сайт";"Мария";"15 000,00";"RUB";"04.08.2023 11:48:08"\n')
    summary(cli, str(write(tmp_path, hubspot, "h.csv")))
    summary(cli, str(write(tmp_path, pipedrive, "p.csv")))
    summary(cli, str(write(tmp_path, zoho, "z.csv")))
    summary(cli, str(write(tmp_path, "\ufeff" + bitrix, "b.csv")))
    h, p, z, b = leads(cli)
    assert (h["external_id"], h["name"], h["phone"], h["owner"], h["status"], h["company"], h["created_at"]) == \
        ("501", "Ana Silva", "+14155550100", "maria@x.io", "contacted", "Acme", "2024-03-12T09:14:00Z")
    assert h["fields"] == {"Lifecycle Stage": "Lead"}
    assert (p["name"], p["email"], p["company"], p["value"], p["owner"], p["source"]) == \
        ("Bo Chen", "bo@x.io", "Globex", 1234.5, "li", "Web")
    assert p["fields"] == {"Lead - Title": "Acme deal"}
    assert (z["external_id"], z["status"], z["created_at"]) == ("4150868000002748014", "disqualified",
                                                                 "2018-12-28T11:04:00Z")
    assert z["fields"] == {"Annual Revenue": "100000"}
    assert (b["external_id"], b["name"], b["first_name"], b["phone"], b["email"], b["company"], b["status"]) == \
        ("7", "Иван Петров", "Иван", "+74951234567", "ivan@x.ru", "ООО Ромашка", "contacted")
    assert (b["value"], b["currency"], b["owner"], b["created_at"]) == (15000, "RUB", "Мария", "2023-08-04T11:48:08Z")
    assert b["fields"] == {"Название лида": "Заявка с сайта"}


def test_full_name_wins_and_first_last_are_kept(cli, tmp_path):
    summary(cli, str(write(tmp_path, "Full Name,First Name,Last Name\nAna M. Silva,Ana,Silva\n,Bo,Chen\n")))
    a, b = leads(cli)
    assert (a["name"], a["first_name"], a["last_name"]) == ("Ana M. Silva", "Ana", "Silva")
    assert (b["name"], b["first_name"], b["last_name"]) == ("Bo Chen", "Bo", "Chen")


def test_map_options_mapping_files_and_dry_run(cli, tmp_path, isolated_db):
    path = write(tmp_path, "Contact,Mail,Deal Size,Temperature,Junk\nAna,ana@x.io,500,Hot,zz\n")
    dry = cli.ok("--format", "json", "import", str(path), "--map", "Contact=name", "--map", "Mail=email",
                 "--map", "Deal Size=value", "--map", "Junk=skip", "--map", "Temperature=fields.Temp", "--dry-run")
    mapping = {row["column"]: row["field"] for row in json.loads(dry.stdout)}
    assert mapping == {"Contact": "name", "Mail": "email", "Deal Size": "value", "Temperature": "fields.Temp",
                       "Junk": "skip"}
    assert "would import 1 row" in dry.stderr
    assert leads(cli) == []
    saved = tmp_path / "m.json"
    cli.ok("import", str(path), "--map", "Contact=name", "--map", "Mail=email", "--map", "Deal Size=value",
           "--map", "Junk=skip", "--dry-run", "--save-mapping", str(saved))
    assert json.loads(saved.read_text())["columns"]["Deal Size"] == "value"
    lines = tmp_path / "m.txt"
    lines.write_text("# our CRM\nContact=name\nMail = email\nDeal Size=value\n")
    summary(cli, str(path), "--mapping", str(lines), "--map", "Mail=fields.Mail")
    (lead,) = leads(cli)
    assert (lead["name"], lead["email"], lead["value"]) == ("Ana", None, 500)
    assert lead["fields"] == {"Mail": "ana@x.io", "Temperature": "Hot", "Junk": "zz"}
    assert cli("import", str(path), "--map", "Mail=nonsense").exit_code == 2


def test_json_mapping_file_with_statuses(cli, tmp_path):
    mapping = tmp_path / "crm.json"
    mapping.write_text(json.dumps({"columns": {"Who": "name", "Stage": "status"},
                                   "statuses": {"Hot": "qualified", "Frozen": "disqualified"},
                                   "missing": ["tbd"]}))
    path = write(tmp_path, "Who,Stage,Budget\nAna,Hot,tbd\nBo,Frozen,10k\n")
    summary(cli, str(path), "--mapping", str(mapping))
    a, b = leads(cli)
    assert (a["status"], a["fields"], b["status"], b["fields"]) == ("qualified", {}, "disqualified",
                                                                 {"Budget (as written)": "10k"})


# ---------------------------------------------------------------- values


def test_dates_numbers_booleans_and_missing_markers(cli, tmp_path):
    text = ("Name,Created Date,Converted Date,Estimated Value,Converted,Country\n"
            "A,2024-03-12,,\"$12,400.00\",0,Select\n"
            "B,2023-08-04T11:48:08+03:00,,\"1.234,56 €\",no,unknown\n"
            "C,3/15/2024 2:05 PM,3/20/2024,1 500,false,#N/A\n"
            "D,15.03.2024,,,yes,PT\n"
            "E,45631,,,Y,\n"
            "F,1710201600000,,,1,\n"
            "G,2024-03-12T09:14:00.123+0100,,,TRUE,\n")
    summary(cli, str(write(tmp_path, text)))
    got = {lead["name"]: lead for lead in leads(cli)}
    assert got["A"]["created_at"] == "2024-03-12T00:00:00Z" and got["A"]["value"] == 12400
    assert got["B"]["created_at"] == "2023-08-04T08:48:08Z" and got["B"]["value"] == 1234.56
    assert got["C"]["created_at"] == "2024-03-15T14:05:00Z" and got["C"]["value"] == 1500
    assert got["C"]["status"] == "converted" and got["C"]["converted_at"] == "2024-03-20T00:00:00Z"
    assert got["D"]["created_at"] == "2024-03-15T00:00:00Z" and got["D"]["status"] == "converted"
    assert got["E"]["created_at"] == "2024-12-05T00:00:00Z"
    assert got["F"]["created_at"] == "2024-03-12T00:00:00Z"
    assert got["G"]["created_at"] == "2024-03-12T08:14:00Z"
    assert [got[n]["status"] for n in "AB"] == ["new", "new"]
    # Only unambiguous markers are no value: `Select` and `unknown` are answers unless named with --missing.
    assert (got["A"]["fields"], got["B"]["fields"], got["C"]["fields"]) == ({"Country": "Select"},
                                                                          {"Country": "unknown"}, {})
    assert got["D"]["fields"] == {"Country": "PT"}


def test_extra_missing_markers(cli, tmp_path):
    summary(cli, str(write(tmp_path, "Name,Budget,Region\nAna,tbd,-\n")), "--missing", "TBD", "--missing", "-")
    assert leads(cli)[0]["fields"] == {}


def test_day_first(cli, tmp_path):
    path = write(tmp_path, "Name,Created Date\nA,03/04/2025\nB,25/04/2025\n")
    summary(cli, str(path), "--day-first")
    a, b = leads(cli)
    assert a["created_at"].startswith("2025-04-03") and b["created_at"].startswith("2025-04-25")


def test_status_values_map_and_never_go_backwards(cli, tmp_path):
    rows = ["Open - Not Contacted", "Working - Contacted", "Qualified", "Closed - Converted", "CONVERTED",
            "Closed - Not Converted", "JUNK", "Junk Lead", "UNQUALIFIED", "NEW", "IN_PROGRESS"]
    text = "Name,Lead Status\n" + "".join(f"L{i},{s}\n" for i, s in enumerate(rows))
    summary(cli, str(write(tmp_path, text)))
    assert [g["status"] for g in leads(cli)] == ["new", "contacted", "qualified", "converted", "converted",
                                                 "disqualified", "disqualified", "disqualified", "disqualified",
                                                 "new", "contacted"]
    bad = write(tmp_path, "Name,Lead Status\nX,Nurturing Hot\n", "bad.csv")
    result = cli("import", str(bad), "--strict")
    assert result.exit_code == 1 and "--status-map" in result.stderr
    # Without --strict the unknown status is kept as written and the row flagged.
    out = summary(cli, str(bad))
    assert (out["created"], out["flagged"]) == (1, 1)
    kept = leads(cli)[-1]
    assert kept["status"] == "new" and kept["fields"] == {"Lead Status (as written)": "Nurturing Hot"}
    summary(cli, str(bad), "--status-map", "Nurturing Hot=qualified", "--on-duplicate", "create")
    assert leads(cli)[-1]["status"] == "qualified"


def test_is_converted_flag_and_update_moves_status_forward_only(cli, tmp_path):
    first = write(tmp_path, "Id,Name,Status,IsConverted\n1,A,Working - Contacted,false\n2,B,Qualified,true\n", "1.csv")
    summary(cli, str(first))
    assert [g["status"] for g in leads(cli)] == ["contacted", "converted"]
    back = write(tmp_path, "Id,Name,Status,IsConverted\n1,A,Open - Not Contacted,false\n2,B,New,false\n", "2.csv")
    out = summary(cli, str(back), "--on-duplicate", "update")
    assert out["updated"] == 0 and [g["status"] for g in leads(cli)] == ["contacted", "converted"]
    forward = write(tmp_path, "Id,Name,Status\n1,A,Qualified\n", "3.csv")
    assert summary(cli, str(forward), "--on-duplicate", "update")["updated"] == 1
    card = json.loads(cli.ok("-f", "json", "show", "1").stdout)
    assert card["status"] == "qualified" and card["history"][-1]["from"] == "contacted"


# ---------------------------------------------------------------- validation and rejects


def test_invalid_rows_fail_a_strict_run_and_go_to_the_rejects_file(cli, tmp_path, isolated_db):
    text = ("Name,Email,Estimated Value,Currency,Created Date\n"
            "Ana,ana@x.io,100,EUR,2024-01-01\n"
            "Bad Mail,not-an-email,,,\n"
            ",,,,\n"
            "Neg,neg@x.io,-5,,\n"
            "Cur,cur@x.io,5,XYZ,\n"
            "Day,day@x.io,,,2024-02-30\n"
            ",,7,,\n")
    path = write(tmp_path, text)
    rejects = tmp_path / "rejects.csv"
    result = cli("import", str(path), "--rejects", str(rejects), "--strict")
    assert result.exit_code == 1 and "5 of 6 rows are invalid" in result.stderr
    assert "nothing was imported" in result.stderr
    assert leads(cli) == []
    with open(rejects, newline="", encoding="utf-8") as fh:
        bad = list(csv.DictReader(fh))
    assert [r["Name"] for r in bad] == ["Bad Mail", "Neg", "Cur", "Day", ""]
    assert bad[0]["error"].startswith("Email:") and "negative" in bad[1]["error"]
    assert bad[2]["error"].startswith("Currency:") and bad[3]["error"].startswith("Created Date:")
    assert "needs a name" in bad[4]["error"]
    assert [r["status"] for r in bad] == ["rejected"] * 5 and bad[0]["row"] == "2" and bad[0]["column"] == "Email"
    assert cli("import", str(path), "--max-rejects", "4", "--strict").exit_code == 1
    out = summary(cli, str(path), "--max-rejects", "5", "--strict")
    assert (out["created"], out["rejected"]) == (1, 5)
    assert summary(cli, str(path), "--max-rejects", "90%", "--strict")["rejected"] == 5
    assert cli("import", str(path), "--max-rejects", "lots").exit_code == 2


def test_the_rejects_file_is_private_and_rewritten_by_every_run(cli, tmp_path, isolated_db):
    import os
    import stat

    rejects = tmp_path / "rejects.csv"
    rejects.write_text("left from another day\n", encoding="utf-8")
    rejects.chmod(0o644)
    bad = write(tmp_path, "Name,Email,Created Date\nAna,ana@x.io,someday\n", name="bad.csv")
    cli.ok("import", str(bad), "--rejects", str(rejects))
    assert stat.S_IMODE(os.stat(rejects).st_mode) == 0o600
    assert "left from another day" not in rejects.read_text(encoding="utf-8")
    assert "someday" in rejects.read_text(encoding="utf-8")
    good = write(tmp_path, "Name,Email\nBo,bo@x.io\n", name="good.csv")
    cli.ok("import", str(good), "--rejects", str(rejects))
    assert rejects.read_text(encoding="utf-8") == "Name,Email,status,row,column,value,error\n"
    cli.ok("import", str(bad), "--rejects", str(rejects))  # the same file again: no row is read
    assert rejects.read_text(encoding="utf-8") == "Name,Email,Created Date,status,row,column,value,error\n"
    fresh = tmp_path / "fresh.csv"
    cli.ok("import", str(bad), "--rejects", str(fresh), "--reprocess")
    assert stat.S_IMODE(os.stat(fresh).st_mode) == 0o600


def test_a_bad_value_never_costs_a_lead_it_is_kept_as_written_and_flagged(cli, tmp_path, isolated_db):
    text = ("Name,Email,Estimated Value,Currency,Created Date\n"
            "Ana,ana@x.io,100,EUR,2024-01-01\n"
            "Bad Mail,not-an-email,,,\n"
            ",,,,\n"
            "Neg,neg@x.io,-5,,\n"
            "Cur,cur@x.io,5,XYZ,\n"
            "Day,day@x.io,,,2024-02-30\n"
            ",,7,,\n")
    rejects = tmp_path / "rejects.csv"
    result = cli("import", str(write(tmp_path, text)), "--rejects", str(rejects), "--max-rejects", "2", "--json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert (out["created"], out["rejected"], out["flagged"]) == (5, 1, 4)  # the empty line is no record
    got = {lead["name"]: lead for lead in leads(cli)}
    assert got["Bad Mail"]["email"] is None and got["Bad Mail"]["fields"] == {"Email (as written)": "not-an-email"}
    assert got["Neg"]["value"] is None and got["Neg"]["fields"] == {"Estimated Value (as written)": "-5"}
    assert got["Day"]["fields"] == {"Created Date (as written)": "2024-02-30"}
    with open(rejects, newline="", encoding="utf-8") as fh:
        listed = [(r["status"], r["row"], r["column"], r["value"]) for r in csv.DictReader(fh)]
    assert ("flagged", "2", "Email", "not-an-email") in listed and ("flagged", "6", "Created Date", "2024-02-30") \
        in listed
    assert [x for x in listed if x[0] == "rejected"] == [("rejected", "7", "row", "")]
    assert ("flagged", "5", "Currency", "XYZ") in listed


def test_row_without_a_name_is_shown_as_lead_number(cli, tmp_path):
    summary(cli, str(write(tmp_path, "Email\nx@y.io\n")))
    assert "Lead #1" in cli.ok("--format", "table", "list").stdout


# ---------------------------------------------------------------- duplicates


def test_duplicates_within_the_file_and_against_the_database(cli, tmp_path):
    cli.ok("add", "Existing", "--email", "old@x.io", "--company", "OldCo")
    text = ("Name,Email,Phone,Company,Lead ID\n"
            "Ana,ana@x.io,+1 415 555 0100,,A1\n"
            "Ana again,ANA@X.IO,,Acme,\n"             # same e-mail as row 1
            "Ana mobile,,+1 (415) 555-0100,,\n"       # same phone as row 1
            "Ana,ana.new@x.io,,,A1\n"                 # same external id as row 1 (and same name)
            "Old,old@x.io,,NewCo,\n"                  # in the database
            # Different people after all: a stronger key of theirs differs.
            "Bo,bo@x.io,+1 (415) 555-0100,,B1\n"      # the same switchboard phone, another e-mail
            "Team,ana@x.io,,,T1\n"                    # a shared inbox, another external id
            "Cy,cy@x.io,,,A1\n")                      # the same id number from another CRM
    out = summary(cli, str(write(tmp_path, text)))
    assert (out["created"], out["skipped"]) == (4, 4)
    assert sorted(lead["name"] for lead in leads(cli)) == ["Ana", "Bo", "Cy", "Existing", "Team"]
    merged = summary(cli, str(write(tmp_path, text)), "--on-duplicate", "merge")
    got = {lead["name"]: lead for lead in leads(cli)}
    assert merged["updated"] == 1 and got["Existing"]["company"] == "OldCo" and got["Ana"]["company"] == "Acme"
    updated = summary(cli, str(write(tmp_path, text)), "--on-duplicate", "update")
    got = leads(cli)
    assert updated["updated"] >= 1 and got[0]["company"] == "NewCo" and got[0]["name"] == "Old"
    assert {lead["name"] for lead in got} >= {"Bo", "Cy", "Team"}  # never overwritten by another person's row
    created = summary(cli, str(write(tmp_path, text)), "--on-duplicate", "create")
    assert created["created"] == 8 and len(leads(cli)) == 13
    only_ext = summary(cli, str(write(tmp_path, "Name,Lead ID\nZed,A1\n", "z.csv")), "--match", "email")
    assert only_ext["created"] == 1


def test_a_shared_phone_or_inbox_does_not_merge_people_already_in_the_database(cli, tmp_path):
    first = write(tmp_path, "Lead ID,First Name,Last Name,Email,Phone\n"
                            "00Q1,Anna,Berg,anna@acme.com,+1 415 555 0100\n", "a.csv")
    cli.ok("import", str(first))
    second = write(tmp_path, "Lead ID,First Name,Last Name,Email,Phone\n"
                             "00Q2,Carl,Dahl,carl@acme.com,+1 415 555 0100\n"
                             "00Q1,Anna,Berg,anna.berg@acme.com,+1 415 555 0199\n", "b.csv")
    out = summary(cli, str(second), "--on-duplicate", "update")
    assert (out["created"], out["updated"]) == (1, 1)
    got = {lead["external_id"]: lead for lead in leads(cli)}
    assert got["00Q1"]["name"] == "Anna Berg" and got["00Q1"]["email"] == "anna.berg@acme.com"
    assert got["00Q2"]["name"] == "Carl Dahl"
    other_crm = write(tmp_path, "Record ID,First Name,Last Name,Email\n00Q1,Jane,Roe,jane@roe.com\n", "c.csv")
    assert summary(cli, str(other_crm), "--on-duplicate", "update")["created"] == 1
    assert got["00Q1"]["name"] == {lead["external_id"] + lead["name"]: lead for lead in leads(cli)}[
        "00Q1Anna Berg"]["name"]


def test_converted_leads_are_not_changed_by_an_import(cli, tmp_path):
    summary(cli, str(write(tmp_path, "Name,Email,Status\nAna,ana@x.io,Closed - Converted\n", "a.csv")))
    out = summary(cli, str(write(tmp_path, "Name,Email,Company\nAna S,ana@x.io,Acme\n", "b.csv")),
                  "--on-duplicate", "update")
    assert out["updated"] == 0 and leads(cli)[0]["company"] is None


# ---------------------------------------------------------------- runs and undo


def test_runs_and_undo(cli, tmp_path, isolated_db):
    cli.ok("add", "Kept", "--email", "kept@x.io")
    first = summary(cli, str(write(tmp_path, "Name,Email,Industry\nAna,ana@x.io,Retail\nKept,kept@x.io,Food\n",
                                   "a.csv")), "--on-duplicate", "merge")
    assert (first["created"], first["updated"]) == (1, 1)
    second = summary(cli, str(write(tmp_path, "Name,Email,Tags\nBo,bo@x.io,x\n", "b.csv")))
    runs = json.loads(cli.ok("-f", "json", "import", "runs").stdout)
    assert [r["id"] for r in runs] == [second["run_id"], first["run_id"]]
    assert runs[1]["file"] == "a.csv" and runs[1]["created"] == 1 and len(runs[1]["sha256"]) == 64
    cli.ok("import", "undo", str(second["run_id"]), "--yes")
    assert [g["name"] for g in leads(cli)] == ["Kept", "Ana"]
    result = cli.ok("import", "undo", str(first["run_id"]), "--yes")
    assert "deleted 1 lead(s), restored 1" in result.stderr
    (kept,) = leads(cli)
    assert kept["fields"] == {} and kept["name"] == "Kept"
    again = cli("import", "undo", str(first["run_id"]), "--yes")
    assert again.exit_code == 1 and "already undone" in again.stderr
    assert cli("import", "undo", "99", "--yes").exit_code == 1
    assert table(isolated_db, "SELECT count(*) FROM status_change WHERE lead_id > 1") == [(0,)]


def test_undo_refuses_while_a_later_run_changed_the_same_leads(cli, tmp_path):
    a = summary(cli, str(write(tmp_path, "Name,Email\nAna,ana@x.io\n", "a.csv")))
    b = summary(cli, str(write(tmp_path, "Name,Email,Company\nAna,ana@x.io,Acme\n", "b.csv")),
                "--on-duplicate", "merge")
    result = cli("import", "undo", str(a["run_id"]), "--yes")
    assert result.exit_code == 1 and f"import undo {b['run_id']}" in result.stderr
    cli.ok("import", "undo", str(b["run_id"]), "--yes")
    cli.ok("import", "undo", str(a["run_id"]), "--yes")
    assert leads(cli) == []


def test_import_group_routes_files_and_subcommands(cli, tmp_path):
    runs = write(tmp_path, "Name\nAna\n", "runs")
    assert "no imports yet" in cli.ok("--format", "table", "import", "runs").stderr
    summary(cli, str(runs))
    assert len(leads(cli)) == 1
    assert "undo" in cli.ok("import", "--help").stdout
    assert "--on-duplicate" in cli.ok("import", str(runs), "--help").stdout
    assert cli("import", "x.csv", "--on-duplicate", "sometimes").exit_code == 2


def test_plain_output_and_quiet(cli, tmp_path):
    path = write(tmp_path, "Name\nAna\n")
    result = cli.ok("import", str(path))
    assert result.stdout == "" and "1 created" in result.stderr
    quiet = cli.ok("-q", "import", str(write(tmp_path, "Name\nBo\n", "b.csv")))
    assert quiet.stdout == "" and quiet.stderr == ""


def test_an_identical_file_is_recognised_but_never_trusted_after_an_undo(cli, tmp_path):
    path = write(tmp_path, "Name,Email\nAna,ana@x.io\nBo,bo@x.io\n")
    first = summary(cli, str(path))
    again = cli.ok("import", str(path))
    assert "were not read again" in again.stderr and "0 created" in again.stderr
    assert summary(cli, str(path), "--reprocess")["skipped"] == 2
    assert summary(cli, str(path), "--map", "Email=fields.Mail")["created"] == 2  # other options: read again
    cli.ok("import", "undo", str(first["run_id"]), "--yes")
    res = summary(cli, str(path))  # run 1's leads are gone: read again, created again
    assert res["created"] == 2 and res["skipped"] == 0
    runs = json.loads(cli.ok("-f", "json", "import", "runs").stdout)
    assert len(runs) == 5 and runs[0]["rows"] == 2 and runs[3]["options"]["repeat_of"] == first["run_id"]


@pytest.mark.sqlite_only
def test_read_rows_reads_a_csv_exactly_like_import_without_a_database(tmp_path, isolated_db):
    from leadcli import ingest

    path = write(tmp_path, "sep=;\nFull Name;E-mail;Deal Value;Stage;Industry\n"
                           "Ana Silva;ana@x.io;1.500,50;JUNK;Retail\nBad;nope;;;\n", encoding="cp1252")
    result = ingest.read_rows(path, options=ingest.ImportOptions())
    errors: list = []
    records = list(result.records(errors))
    assert (result.encoding, result.delimiter) == ("utf-8", ";")  # plain ASCII reads as UTF-8
    ana, bad = records
    assert bad["email"] is None and bad["fields"] == {"E-mail (as written)": "nope"} and errors == []
    errors = []
    records = list(ingest.read_rows(path, options=ingest.ImportOptions(strict=True)).records(errors))
    assert (ana["name"], ana["email"], ana["status"], ana["fields"]) == ("Ana Silva", "ana@x.io", "disqualified",
                                                                         {"Industry": "Retail"})
    assert ana["value_cents"] == 150050 and ana["_row"] == 1
    assert errors[0][0] == 2 and errors[0][2].startswith("E-mail:")
    assert not isolated_db.exists()


# ---------------------------------------------------------------- real-export details


def test_an_unclosed_quote_rejects_its_record_and_never_swallows_the_rows_after_it(cli, tmp_path, isolated_db):
    path = write(tmp_path, 'Full Name,Company,Email,Notes\nAnn Lee,Acme,ann@acme.com,ok\n'
                           'Bob Ray,"Ray Ltd,bob@ray.com,oops\nCid Moe,Moe Co,cid@moe.com,fine\n')
    rejects = tmp_path / "rejects.csv"
    out = summary(cli, str(path), "--rejects", str(rejects))
    assert (out["rows"], out["created"], out["rejected"]) == (3, 2, 1)
    assert sorted(lead["name"] for lead in leads(cli)) == ["Ann Lee", "Cid Moe"]
    with open(rejects, newline="", encoding="utf-8") as fh:
        (bad,) = list(csv.DictReader(fh))
    assert (bad["status"], bad["row"], bad["Full Name"]) == ("rejected", "2", "Bob Ray")
    assert "never closed" in bad["error"]
    result = cli("import", str(path), "--strict", "--on-duplicate", "create")
    assert result.exit_code == 1 and "record 2: a quote opened in this record is never closed" in result.stderr
    # A stray quote inside an unquoted cell, and a quoted cell spanning lines, still import.
    fine = write(tmp_path, 'Full Name,Notes,Title\nAnn,"two\nlines",x\nBob,"5"" screen",Mr "Q\n', "fine.csv")
    assert summary(cli, str(fine))["created"] == 2


def test_names_that_look_like_missing_markers_are_kept(cli, tmp_path):
    path = write(tmp_path, "First Name,Last Name,Email,Company\nNan,Li,nan.li@acme.com,Acme\n"
                           "Thomas,Null,t@ni.com,NULL\nNaN,Ray,r@x.com,n/a\n")
    cli.ok("import", str(path))
    got = {(lead["first_name"], lead["last_name"], lead["company"]) for lead in leads(cli)}
    assert got == {("Nan", "Li", "Acme"), ("Thomas", "Null", None), (None, "Ray", None)}


@pytest.mark.parametrize("cell, value", [
    ("12.000", 12000), ("1.500", 1500), ("1.000.000", 1000000), ("€ 1.234", 1234), ("1.234,56 €", 1234.56),
    ("1,234", 1234), ("1,5", 1.5), ("0.125", 0.13), ("12.5", 12.5), ("$12,400.00", 12400),
])
def test_amounts_in_any_locale(cli, tmp_path, cell, value):
    path = write(tmp_path, f'Name,Amount\nAna,"{cell}"\n')
    cli.ok("import", str(path))
    assert float(leads(cli)[0]["value"]) == value


def test_a_date_column_is_read_in_one_day_order(cli, tmp_path):
    # `29/09/2024` can only be day first: the whole column is, so `03/04/2024` is 3 April.
    path = write(tmp_path, "Full Name,Email,Created Date\nHanna,h@b.de,29/09/2024\nJens,j@k.de,03/04/2024\n")
    cli.ok("import", str(path))
    assert {lead["name"]: lead["created_at"][:10] for lead in leads(cli)} == \
        {"Hanna": "2024-09-29", "Jens": "2024-04-03"}
    # A date that fits only the other order is rejected, naming the value that set the column's order.
    mixed = write(tmp_path, "Full Name,Email,Created Date\nAl,a@b.de,03/04/2024\nBo,b@b.de,09/30/2024\n"
                            "Cy,c@b.de,29/09/2024\n", "mixed.csv")
    result = cli("import", str(mixed), "--strict")
    assert result.exit_code == 1
    assert "'29/09/2024' is not a real date read month first" in result.stderr and "'09/30/2024'" in result.stderr
    assert summary(cli, str(mixed))["flagged"] == 1  # without --strict: kept as written, never swapped
    # Dotted dates are day first everywhere; --day-first still decides a column of ambiguous ones.
    dotted = write(tmp_path, "Full Name,Email,Created Date\nDi,d@b.de,03.04.2024\n", "dotted.csv")
    cli.ok("import", str(dotted))
    ambiguous = write(tmp_path, "Full Name,Email,Created Date\nEd,e@b.de,03/04/2024\n", "ambiguous.csv")
    cli.ok("import", str(ambiguous), "--day-first")
    got = {lead["name"]: lead["created_at"][:10] for lead in leads(cli)}
    assert got["Di"] == "2024-04-03" and got["Ed"] == "2024-04-03"


def test_a_lead_title_names_the_lead_only_when_no_person_does(cli, tmp_path):
    pipedrive = write(tmp_path, "Lead - Title,Contact person,Organization,Lead - Source channel,"
                                "Lead - Pipedrive System ID,Person - Email (Work),Lead - Value,"
                                "Lead - Currency of Value\n"
                                "Moveer Deal,Tony Turner,Moveer,Web visitors,0f8e9b9c-1111,tony@moveer.com,"
                                "\"1.234,56\",EUR\nSolo Deal,,Acme,Web,0f8e9b9c-2222,,,\n", "pd.csv")
    cli.ok("import", str(pipedrive))
    bitrix = write(tmp_path, '"Lead name";"First name";"Last name";"Phone"\n'
                             '"Website request";"John";"Doe";"+4930123456"\n'
                             '"Call back";"";"";"+4930123457"\n', "bx.csv")
    cli.ok("import", str(bitrix))
    titled = write(tmp_path, "Lead - Title,Organization\nBig Deal,Acme Two\n", "titled.csv")
    cli.ok("import", str(titled))
    by_name = {lead["name"]: lead for lead in leads(cli)}
    tony = by_name["Tony Turner"]
    assert (tony["first_name"], tony["last_name"], tony["source"], tony["external_id"], tony["currency"]) == \
        ("Tony", "Turner", "Web visitors", "0f8e9b9c-1111", "EUR")
    assert float(tony["value"]) == 1234.56 and tony["fields"]["Lead - Title"] == "Moveer Deal"
    # Rows without a person are named by their title, which is not split into first and last names.
    for title in ("Solo Deal", "Call back", "Big Deal"):
        assert by_name[title]["first_name"] is None and by_name[title]["last_name"] is None, title
    assert by_name["John Doe"]["fields"] == {"Lead name": "Website request"}


def test_a_letter_is_not_a_delimiter(cli, tmp_path):
    path = write(tmp_path, "Name:Email\nAna:ana@example.com\n")
    result = cli("import", str(path), "--delimiter", "x")
    assert result.exit_code == 2 and "unknown delimiter 'x'" in result.stderr
    assert summary(cli, str(path), "--delimiter", ":")["created"] == 1


def test_a_map_typo_is_a_usage_error_and_a_mapping_file_column_a_warning(cli, tmp_path):
    result = cli("import", str(EXAMPLES / "leads.csv"), "--map", "Lead Sorce=source", "--dry-run")
    assert result.exit_code == 2 and "--map names no column of leads.csv: 'Lead Sorce'" in result.stderr
    assert "Lead Source" in result.stderr  # the hint lists the file's columns
    saved = tmp_path / "crm.json"
    saved.write_text('{"columns": {"Deal Size": "value", "Lead Source": "source"}}')
    result = cli.ok("import", str(EXAMPLES / "leads.csv"), "--mapping", str(saved), "--json")
    assert "warning: the mapping names columns this file does not have: 'Deal Size'" in result.stderr
    assert json.loads(result.stdout)["created"] == 200


def test_an_amount_names_its_currency_when_no_column_does(cli, tmp_path):
    path = write(tmp_path, 'Name,Amount\nA,"1.234,56 €"\nB,EUR 1500\nC,"$1,200"\nD,12 zł\nE,900\n')
    cli.ok("import", str(path))
    got = {lead["name"]: (lead["currency"], lead["value"]) for lead in leads(cli)}
    assert got == {"A": ("EUR", 1234.56), "B": ("EUR", 1500), "C": (None, 1200), "D": ("PLN", 12), "E": (None, 900)}
    # A currency column, when there is one, decides.
    both = write(tmp_path, 'Name,Amount,Currency\nF,"1.000 €",USD\n', "both.csv")
    cli.ok("import", str(both))
    assert {lead["name"]: lead["currency"] for lead in leads(cli)}["F"] == "USD"


def test_dry_run_shows_the_mapping_even_when_rows_fail(cli, tmp_path):
    result = cli("import", str(write(tmp_path, "Name,Email\nA,bad\n")), "--dry-run", "--strict")
    assert result.exit_code == 1 and result.stdout.startswith("column,field,how,sample")
    assert "Email,email,auto,bad" in result.stdout and "nothing was imported" in result.stderr


def test_a_mobile_or_home_address_stands_in_for_an_empty_main_column(cli, tmp_path):
    path = write(tmp_path, "First Name,Last Name,Email,Phone,Mobile,Secondary Email\n"
                           "Ana,Li,ana@x.io,+1 415 555 0100,+1 415 555 0199,\n"
                           "Bo,Ng,,,+44 20 7946 0958,bo@home.io\n"
                           "Cy,Ok,,,not a phone,\n")
    cli.ok("import", str(path))
    got = {lead["first_name"]: lead for lead in leads(cli)}
    assert (got["Ana"]["phone"], got["Ana"]["email"]) == ("+14155550100", "ana@x.io")
    assert (got["Bo"]["phone"], got["Bo"]["email"]) == ("+442079460958", "bo@home.io")
    assert got["Cy"]["phone"] is None and got["Cy"]["fields"] == {"Mobile": "not a phone"}
    # The columns stay custom fields too, and the stand-ins are matched: a re-import is a no-op.
    assert got["Bo"]["fields"] == {"Mobile": "+44 20 7946 0958", "Secondary Email": "bo@home.io"}
    assert summary(cli, str(path), "--reprocess")["created"] == 0


def test_json_summaries_have_the_same_keys_on_every_path(cli, tmp_path, isolated_db):
    path = write(tmp_path, "Name,Email\nAna,ana@x.io\nBo,bo@x.io\n")
    bad = write(tmp_path, "Name,Email\nAna,ana@x.io\nBo,bad\n", name="bad.csv")
    first = json.loads(cli.ok("import", str(path), "--json").stdout)
    repeat = json.loads(cli.ok("import", str(path), "--json").stdout)
    dry = json.loads(cli.ok("import", str(path), "--json", "--dry-run", "--reprocess").stdout)
    refused = cli("import", str(bad), "--json", "--strict")
    assert refused.exit_code == 1 and "nothing was imported" in refused.stderr
    over = json.loads(refused.stdout)
    assert set(first) == set(repeat) == set(dry) == set(over)
    assert {"mapping", "repeat_of", "run_id", "rejected"} <= set(first)
    assert (first["repeat_of"], repeat["repeat_of"]) == (None, first["run_id"])
    assert (over["run_id"], over["rejected"]) == (None, 1)
