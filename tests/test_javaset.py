"""The Java set model behind AM's scope order (reference §7.1), checked three ways.

1. Every order the reference publishes comes out of the model (the module holds none of them).
2. Properties of the model itself, under hypothesis.
3. The model against a real JVM: one ``java File.java`` run orders a few hundred random scope lists
   the way AM builds its sets, and every order must match.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mock_as.javaset import (
    JavaHashSet,
    default_scope_order,
    granted_scope_order,
    hash_map_hash,
    hash_set_copy_capacity,
    hash_set_order,
    invalid_scope_description,
    invalid_scope_order,
    java_compare,
    java_set_string,
    java_split_scope,
    java_string_hash,
    refresh_scope_order,
    requested_scope_set,
    stored_scope_order,
    table_size_for,
    tree_set_order,
    utf16_code_units,
)


def colliding(count: int, width: int = 4) -> list[str]:
    """``count`` distinct strings with one ``String.hashCode()``: words of "Aa" and "BB" blocks."""
    words = ("".join(blocks) for blocks in itertools.product(("Aa", "BB"), repeat=width))
    return list(itertools.islice(words, count))


# -- 1. the reference's published orders ----------------------------------------------------------

# §7.1 "Examples from this model", each a set and the order AM prints it in.
SET_EXAMPLES = [
    ({"cn", "mail"}, ["mail", "cn"]),
    ({"admin", "root"}, ["root", "admin"]),
    ({"read", "write"}, ["read", "write"]),
    ({"openid", "profile", "email"}, ["openid", "profile", "email"]),
    ({"foo", "bar"}, ["bar", "foo"]),
    ({"openid", "profile", "email", "address", "phone"}, ["address", "phone", "openid", "profile", "email"]),
]


@pytest.mark.parametrize(("members", "printed"), SET_EXAMPLES)
def test_the_reference_set_examples_in_any_insertion_order(members: set[str], printed: list[str]) -> None:
    for insertion in itertools.permutations(sorted(members)):
        assert hash_set_order(insertion) == printed
        assert list(JavaHashSet.copy_of(insertion)) == printed


@pytest.mark.parametrize(("members", "printed"), SET_EXAMPLES)
def test_the_reference_set_examples_as_granted_and_stored_scopes(
    members: set[str], printed: list[str]
) -> None:
    # The client allows a few more scopes than requested: the table still has 16 buckets.
    allowed = [*members, "uid", "given_name"]
    assert granted_scope_order(allowed, sorted(members)) == printed
    assert stored_scope_order(sorted(members)) == printed
    assert refresh_scope_order(allowed, " ".join(sorted(members))) == printed


def test_the_o13_tokeninfo_and_introspect_example() -> None:
    # §11 items 1 and 3: scope=cn%20mail; tokeninfo shows ["mail","cn"], introspect "mail cn".
    granted = granted_scope_order(["cn", "mail"], java_split_scope("cn mail"))
    assert json.dumps(stored_scope_order(granted), separators=(",", ":")) == '["mail","cn"]'
    assert " ".join(stored_scope_order(granted)) == "mail cn"


def test_the_invalid_scope_examples() -> None:
    # §5: a request of "admin root" prints [root, admin]; {foo, bar} prints [bar, foo].
    assert invalid_scope_description("admin root", ["read"]) == "Unknown/invalid scope(s): [root, admin]"
    assert invalid_scope_description("root admin", []) == "Unknown/invalid scope(s): [root, admin]"
    assert invalid_scope_description("foo bar", ["read"]) == "Unknown/invalid scope(s): [bar, foo]"
    assert invalid_scope_order("read admin root", ["read", "write"]) == ["root", "admin"]


def test_the_tree_set_examples() -> None:
    # §7.1: no scope -> the default scopes as a TreeSet; a refresh without scope -> a TreeSet.
    assert " ".join(default_scope_order(["write", "read"])) == "read write"
    assert " ".join(refresh_scope_order(["write", "read"], None)) == "read write"
    assert " ".join(refresh_scope_order(["write", "read"], "")) == "read write"


def test_the_token_response_keys_in_real_am_order() -> None:
    # §7.1 check (a) and §4: AM 7.1 (DSS) and P81 print the token answer in this order.
    keys = ["access_token", "token_type", "expires_in", "refresh_token", "scope", "id_token"]
    expected = ["access_token", "refresh_token", "scope", "id_token", "token_type", "expires_in"]
    for insertion in itertools.permutations(keys):
        assert hash_set_order(insertion) == expected
    # Without the optional keys, the rest keep their order (P81 canonical token, §11 item 7).
    assert hash_set_order(["access_token", "scope", "token_type", "expires_in"]) == [
        "access_token",
        "scope",
        "token_type",
        "expires_in",
    ]


def test_the_error_body_keys_in_am_order() -> None:
    # §5: error_description, state, error, error_uri (GH-OIP34 and P81 show error_description first).
    assert hash_set_order(["error", "error_description", "error_uri", "state"]) == [
        "error_description",
        "state",
        "error",
        "error_uri",
    ]
    assert hash_set_order(["error", "error_description"]) == ["error_description", "error"]


def test_o13_era_examples_are_not_java_8_orders() -> None:
    # §7.1: the O13 docs print these in Java 7 order; the model (Java 8+) must not reproduce them.
    assert hash_set_order(["cn", "openid", "profile"]) != ["cn", "openid", "profile"]
    keys = ["expires_in", "token_type", "refresh_token", "access_token"]
    assert hash_set_order(keys) != keys


def test_the_copy_constructor_sizes_of_the_reference() -> None:
    # §7.1 item 4: Java 8-17 |c| <= 11 -> 16, 12-23 -> 32; Java 21 |c| <= 12 -> 16, 13-24 -> 32.
    assert {hash_set_copy_capacity(n) for n in range(12)} == {16}
    assert {hash_set_copy_capacity(n) for n in range(12, 24)} == {32}
    assert hash_set_copy_capacity(24) == 64
    assert {hash_set_copy_capacity(n, jdk=21) for n in range(13)} == {16}
    assert {hash_set_copy_capacity(n, jdk=21) for n in range(13, 25)} == {32}
    assert hash_set_copy_capacity(25, jdk=21) == 64
    with pytest.raises(ValueError, match="no size"):
        hash_set_copy_capacity(-1)


def test_filling_by_add_doubles_past_three_quarters() -> None:
    # §7.1 item 4: filled by add, up to 12 entries -> 16, up to 24 -> 32.
    words = [f"scope{i}" for i in range(30)]
    for size in range(31):
        built = JavaHashSet()
        built.add_all(words[:size])
        assert built.capacity == (16 if size <= 12 else 32 if size <= 24 else 64)


def test_retain_and_remove_never_shrink_the_table() -> None:
    allowed = [f"scope{i}" for i in range(20)]
    granted = JavaHashSet.copy_of(allowed)
    granted.retain_all(["scope3"])
    assert granted.capacity == 32
    assert list(granted) == ["scope3"]
    assert str(granted) == "[scope3]"


def test_a_full_bucket_doubles_a_small_table_and_flags_a_tree_bin() -> None:
    # HashMap.treeifyBin: 9 entries in one bucket double a table below 64 buckets; at 64 Java builds
    # a tree bin, whose order the model does not reproduce and says so.
    family = colliding(11)
    assert len({java_string_hash(word) for word in family}) == 1
    built = JavaHashSet()
    built.add_all(family[:8])
    assert (built.capacity, built.treeified) == (16, False)
    built.add(family[8])
    assert (built.capacity, built.treeified) == (32, False)
    built.add(family[9])
    assert (built.capacity, built.treeified) == (64, False)
    built.add(family[10])
    assert (built.capacity, built.treeified) == (64, True)
    assert list(built) == family


def test_java_split_and_the_requested_set() -> None:
    assert java_split_scope("a  b") == ["a", "", "b"]
    assert java_split_scope(" a") == ["", "a"]
    assert java_split_scope("a  ") == ["a"]
    assert java_split_scope(" ") == []
    assert java_split_scope("") == []
    assert list(requested_scope_set(None)) == []
    assert list(requested_scope_set("")) == []
    # 12 pieces (duplicates count) give the requested set 32 buckets, not 16.
    assert requested_scope_set(" ".join(["read"] * 12)).capacity == 32
    # An empty piece is a requested scope; AM prints it as nothing between the brackets.
    assert invalid_scope_description("read  write", ["read", "write"]) == "Unknown/invalid scope(s): []"


def test_small_api_details() -> None:
    assert java_string_hash("") == 0
    assert java_string_hash("hello") == 99162322
    assert java_string_hash("polygenelubricants") == -(2**31)
    assert hash_map_hash("polygenelubricants") == -(2**31) ^ (1 << 15)
    assert table_size_for(0) == table_size_for(1) == 1
    assert [table_size_for(n) for n in (2, 3, 16, 17, 2**31)] == [2, 4, 16, 32, 2**30]
    assert java_set_string([]) == "[]"
    built = JavaHashSet(0)
    assert built.capacity == 1
    assert not built.remove("x")
    assert "x" not in built
    assert built.add("x")
    assert not built.add("x")
    assert "x" in built
    assert 1 not in built
    assert (len(built), repr(built)) == (1, "JavaHashSet(['x'], capacity=2)")
    assert built.remove("x")
    assert not built.remove("x")
    with pytest.raises(ValueError, match="Illegal initial capacity"):
        JavaHashSet(-1)


def test_tree_order_is_utf16_not_code_points() -> None:
    high, bmp_top = "\U00010000", "\uffff"
    assert tree_set_order([bmp_top, high]) == [high, bmp_top]
    assert sorted([bmp_top, high]) == [bmp_top, high]
    assert java_compare(high, bmp_top) < 0 < java_compare(bmp_top, high)
    assert java_compare("ab", "abc") == -1
    assert java_compare("b", "a") == 1


# -- 2. properties of the model -------------------------------------------------------------------

SCOPE_ALPHABET = "abcdefghijklmnopqrstuvwxyzAB:._-*"
scope_names = st.one_of(
    st.text(SCOPE_ALPHABET, min_size=1, max_size=8),
    st.sampled_from(colliding(16)),
    st.text(max_size=4),
    st.text(st.characters(codec=None, categories=["Cs", "Co", "Lo"]), max_size=3),
)
scope_lists = st.lists(scope_names, max_size=40)


def unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


@given(scope_lists, st.integers(0, 70))
def test_every_order_is_a_permutation_of_the_distinct_items(items: list[str], capacity: int) -> None:
    distinct = sorted(set(items))
    assert sorted(hash_set_order(items, capacity)) == distinct
    assert sorted(JavaHashSet.copy_of(items)) == distinct
    assert sorted(tree_set_order(items)) == distinct
    assert len(JavaHashSet.copy_of(items)) == len(distinct)


@given(scope_lists)
def test_buckets_ascend_and_a_bucket_keeps_insertion_order(items: list[str]) -> None:
    built = JavaHashSet()
    built.add_all(items)
    mask = built.capacity - 1
    first_seen = {item: position for position, item in enumerate(unique(items))}
    order = list(built)
    keys = [(hash_map_hash(item) & mask, first_seen[item]) for item in order]
    assert keys == sorted(keys)


@given(scope_lists)
def test_the_copy_constructor_is_adds_into_a_presized_table(items: list[str]) -> None:
    for jdk in (17, 21):
        capacity = hash_set_copy_capacity(len(items), jdk=jdk)
        assert list(JavaHashSet.copy_of(items, jdk=jdk)) == hash_set_order(items, capacity)


@given(scope_lists, st.sets(scope_names))
def test_retain_and_remove_keep_the_survivors_in_place(items: list[str], other: set[str]) -> None:
    before = list(JavaHashSet.copy_of(items))
    kept, dropped = JavaHashSet.copy_of(items), JavaHashSet.copy_of(items)
    assert kept.retain_all(other) == any(item not in other for item in before)
    assert dropped.remove_all(other) == any(item in other for item in before)
    assert list(kept) == [item for item in before if item in other]
    assert list(dropped) == [item for item in before if item not in other]
    assert len(kept) + len(dropped) == len(before)


@given(scope_lists)
def test_tree_order_is_utf16_be_byte_order(items: list[str]) -> None:
    by_bytes = sorted(set(items), key=lambda s: s.encode("utf-16-be", "surrogatepass"))
    assert tree_set_order(items) == by_bytes
    assert tree_set_order(items) == sorted(set(items), key=functools.cmp_to_key(java_compare))


@given(st.text(max_size=12), st.text(max_size=12))
def test_string_hash_is_the_polynomial_over_utf16_units(a: str, b: str) -> None:
    def int32(value: int) -> int:
        return (value + 2**31) % 2**32 - 2**31

    units = utf16_code_units(a)
    assert java_string_hash(a) == int32(sum(u * 31 ** (len(units) - 1 - i) for i, u in enumerate(units)))
    shift = 31 ** len(utf16_code_units(b))
    assert java_string_hash(a + b) == int32(java_string_hash(a) * shift + java_string_hash(b))
    assert -(2**31) <= java_string_hash(a) < 2**31


@given(scope_lists, st.sets(scope_names))
def test_the_places_agree_with_the_general_api(items: list[str], allowed: set[str]) -> None:
    raw = " ".join(item for item in items if " " not in item)
    requested = requested_scope_set(raw)
    granted = JavaHashSet.copy_of(tree_set_order(allowed))
    granted.retain_all(requested)
    assert granted_scope_order(allowed, requested) == list(granted)
    invalid = JavaHashSet.copy_of(requested)
    invalid.remove_all(allowed)
    assert invalid_scope_order(raw, allowed) == list(invalid)
    assert set(invalid_scope_order(raw, allowed)) == set(requested) - allowed
    assert stored_scope_order(granted) == list(JavaHashSet.copy_of(list(granted)))


HASH_SEED_PROBE = """
import json, sys
from mock_as.javaset import hash_set_order, tree_set_order, JavaHashSet
cases = json.load(sys.stdin)
print(json.dumps([[hash_set_order(c), list(JavaHashSet.copy_of(c)), tree_set_order(c)] for c in cases]))
"""


def test_orders_do_not_depend_on_pythons_hash_seed() -> None:
    rng = random.Random(7)
    pool = [*colliding(12), "openid", "profile", "email", "read", "write", "cn", "mail", "fr:idm:*"]
    cases = [[rng.choice(pool) for _ in range(rng.randrange(30))] for _ in range(50)]
    outputs = set()
    for seed in ("0", "1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", HASH_SEED_PROBE],
            input=json.dumps(cases),
            capture_output=True,
            text=True,
            env=env,
            check=True,
            timeout=60,
        )
        outputs.add(done.stdout)
    assert len(outputs) == 1
    assert json.loads(outputs.pop()) == [
        [hash_set_order(c), list(JavaHashSet.copy_of(c)), tree_set_order(c)] for c in cases
    ]


# -- 3. against a real JVM ------------------------------------------------------------------------

# Each input line is "items|allowed|raw"; strings travel as "x" + 4 hex digits per UTF-16 unit, so
# any String (lone surrogates included) crosses the pipe unchanged. Each output line holds the
# orders AM's sets give, built the way reference §7.1 says AM builds them.
JAVA_PROGRAM = r"""
import java.io.*;
import java.util.*;

public class JavaSets {
    static String enc(String s) {
        StringBuilder b = new StringBuilder("x");
        for (char c : s.toCharArray()) b.append(String.format("%04x", (int) c));
        return b.toString();
    }
    static String encAll(Iterable<String> xs) {
        StringJoiner j = new StringJoiner(",");
        for (String x : xs) j.add(enc(x));
        return j.toString();
    }
    static String dec(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 1; i < s.length(); i += 4) b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
        return b.toString();
    }
    static List<String> decAll(String s) {
        List<String> out = new ArrayList<>();
        if (s.isEmpty()) return out;
        for (String p : s.split(",", -1)) out.add(dec(p));
        return out;
    }
    public static void main(String[] args) throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, "US-ASCII"));
        PrintWriter out = new PrintWriter(new BufferedWriter(new OutputStreamWriter(System.out, "US-ASCII")));
        String line;
        while ((line = in.readLine()) != null) {
            String[] f = line.split("\\|", -1);
            List<String> items = decAll(f[0]);
            List<String> allowed = decAll(f[1]);
            String raw = dec(f[2]);
            StringJoiner hashes = new StringJoiner(",");
            for (String s : items) hashes.add(Integer.toString(s.hashCode()));
            Set<String> added = new HashSet<>();
            for (String s : items) added.add(s);
            Set<String> copied = new HashSet<>(items);
            Set<String> tree = new TreeSet<>(items);
            Set<String> granted = new HashSet<>(new TreeSet<>(allowed));
            granted.retainAll(new HashSet<>(items));
            Set<String> stored = new HashSet<>(new ArrayList<>(granted));
            Set<String> requested = raw.isEmpty()
                ? Collections.<String>emptySet() : new HashSet<>(Arrays.asList(raw.split(" ")));
            Set<String> invalid = new HashSet<>(requested);
            invalid.removeAll(new TreeSet<>(allowed));
            Set<String> tokenScope = new TreeSet<>(allowed);
            Set<String> refreshed;
            if (requested.isEmpty()) {
                refreshed = tokenScope;
            } else {
                refreshed = new HashSet<>(tokenScope);
                refreshed.retainAll(requested);
            }
            out.println(String.join("|", hashes.toString(), encAll(added), encAll(copied), encAll(tree),
                encAll(granted), encAll(stored), encAll(invalid), enc(invalid.toString()), encAll(refreshed)));
        }
        out.flush();
    }
}
"""


def _enc(s: str) -> str:
    return "x" + "".join(f"{unit:04x}" for unit in utf16_code_units(s))


def _dec(s: str) -> str:
    return bytes.fromhex(s[1:]).decode("utf-16-be", "surrogatepass")


def _dec_all(s: str) -> list[str]:
    return [_dec(part) for part in s.split(",")] if s else []


COMMON_SCOPES = [
    "openid", "profile", "email", "address", "phone", "read", "write", "cn", "mail", "uid", "admin",
    "root", "foo", "bar", "fr:idm:*", "fr:idc:monitoring:*", "am-introspect-all-tokens", "uma_protection",
    "given_name", "family_name", "offline_access", "write:all", "read:all", "api", "https://api.example.com/x",
]  # fmt: skip


def _random_scope(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.35:
        return rng.choice(COMMON_SCOPES)
    if roll < 0.75:
        return "".join(rng.choice(SCOPE_ALPHABET) for _ in range(rng.randint(1, 6)))
    if roll < 0.9:
        return rng.choice(colliding(16))
    if roll < 0.97:
        return "".join(chr(rng.choice([rng.randrange(0x80, 0xD800), rng.randrange(0x10000, 0x110000)]))
                       for _ in range(rng.randint(1, 3)))  # fmt: skip
    return rng.choice(["", "\ud800", "\udfff", "a\udc00"])


def _jvm_cases(count: int) -> list[tuple[list[str], list[str], str]]:
    rng = random.Random(20261207)
    cases: list[tuple[list[str], list[str], str]] = [
        # A full bucket: 9 and 10 equal hashes double the table; other scopes move with it.
        ([*colliding(9), "read", "write", "openid", "profile", "email"], ["read", "openid"], "read openid"),
        (["openid", *colliding(10), "cn", "mail", "zz"], colliding(10), " ".join(colliding(10))),
        # Around the copy constructor's size steps (11/12, 23/24 elements).
        *(
            ([f"s{i}" for i in range(size)], [f"s{i}" for i in range(0, size, 2)], "")
            for size in (11, 12, 23, 24)
        ),
        # Published examples, as AM meets them.
        (["cn", "mail"], ["cn", "mail", "openid"], "cn mail"),
        (["read", "write"], ["read"], "admin root"),
        (["foo", "bar"], ["read", "write"], "foo bar"),
    ]
    while len(cases) < count:
        pool = [_random_scope(rng) for _ in range(rng.choice([3, 8, 20, 45]))]
        items = [rng.choice(pool) for _ in range(rng.choice([0, 1, 2, 4, 7, 12, 13, 24, 30, 40]))]
        allowed = rng.sample(pool, rng.randint(0, len(pool)))
        extra = [_random_scope(rng) for _ in range(6)]
        words = [w for w in items + allowed + extra if " " not in w] or ["read"]
        raw = ("  " if rng.random() < 0.1 else " ").join(rng.choice(words) for _ in range(rng.randint(0, 14)))
        raw = rng.choice(["", " ", "  "]) + raw if rng.random() < 0.1 else raw
        cases.append((items, allowed, raw))
    return cases


def _readable(label: str, field: str) -> str:
    """An answer field decoded for a failure message."""
    if label == "hashCode":
        return field
    return repr(_dec(field)) if label == "toString" else repr(_dec_all(field))


def _model_answer(items: list[str], allowed: list[str], raw: str) -> list[str]:
    added = hash_set_order(items)
    granted = granted_scope_order(allowed, items)
    invalid = invalid_scope_order(raw, allowed)
    return [
        ",".join(str(java_string_hash(item)) for item in items),
        ",".join(map(_enc, added)),
        ",".join(map(_enc, JavaHashSet.copy_of(items))),
        ",".join(map(_enc, tree_set_order(items))),
        ",".join(map(_enc, granted)),
        ",".join(map(_enc, stored_scope_order(granted))),
        ",".join(map(_enc, invalid)),
        _enc(java_set_string(invalid)),
        ",".join(map(_enc, refresh_scope_order(allowed, raw))),
    ]


def _needs_a_tree_bin(items: list[str], allowed: list[str], raw: str) -> bool:
    built = JavaHashSet()
    built.add_all(items)
    requested = requested_scope_set(raw)
    sets = [built, JavaHashSet.copy_of(items), JavaHashSet.copy_of(tree_set_order(allowed)), requested]
    return any(s.treeified for s in [*sets, JavaHashSet.copy_of(requested)])


@pytest.mark.skipif(shutil.which("java") is None, reason="no `java` on PATH to cross-check the model against")
def test_the_model_matches_a_real_jvm(tmp_path: Path) -> None:
    source = tmp_path / "JavaSets.java"
    source.write_text(JAVA_PROGRAM, encoding="ascii")
    cases = [case for case in _jvm_cases(400) if not _needs_a_tree_bin(*case)]
    assert len(cases) > 390  # tree bins are the rare exception the model leaves out
    lines = "".join(f"{','.join(map(_enc, i))}|{','.join(map(_enc, a))}|{_enc(r)}\n" for i, a, r in cases)
    done = subprocess.run(
        ["java", "-Xshare:auto", "-XX:TieredStopAtLevel=1", str(source)],
        input=lines,
        capture_output=True,
        text=True,
        encoding="ascii",
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answers = done.stdout.splitlines()
    assert len(answers) == len(cases)
    labels = ["hashCode", "add", "copy", "TreeSet", "granted", "stored", "invalid", "toString", "refresh"]
    for case, answer in zip(cases, answers, strict=True):
        jvm = answer.split("|")
        model = _model_answer(*case)
        for label, got, want in zip(labels, model, jvm, strict=True):
            assert got == want, (
                f"{label} of {case!r}: model {_readable(label, got)}, JVM {_readable(label, want)}"
            )


def test_the_docstring_examples_hold() -> None:
    import doctest

    import mock_as.javaset

    outcome = doctest.testmod(mock_as.javaset)
    assert (outcome.failed, outcome.attempted > 5) == (0, True)
