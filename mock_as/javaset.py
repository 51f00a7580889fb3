"""The order in which AM (Java) prints a set of scope strings.

AM keeps scopes in ``java.util`` sets and prints them in the set's iteration order: the granted
``scope`` of a token answer, the list in ``Unknown/invalid scope(s): [a, b]``, the tokeninfo ``scope``
array and the introspection ``scope`` string (reference §7.1). This module reproduces that order
without a JVM:

* :func:`java_string_hash` is ``String.hashCode()``; :func:`tree_set_order` is a ``TreeSet<String>``;
* :class:`JavaHashSet` is a ``HashSet<String>`` (a ``HashMap`` table, Java 8 and later), with the
  constructors and bulk operations AM uses; :func:`hash_set_order` is its iteration order;
* one function per place where AM orders scopes: :func:`granted_scope_order`,
  :func:`default_scope_order`, :func:`refresh_scope_order`, :func:`invalid_scope_order` (and
  :func:`invalid_scope_description`), :func:`stored_scope_order`.

Which set AM builds at each place, from reference §7.1 and the OpenAM code it cites
(``OpenAMScopeValidator.validateScopes``, ``Utils.splitScope``, ``AccessTokenService.refreshToken``,
``StatefulToken.getSetProperty``):

* requested scopes: ``new HashSet<>(Arrays.asList(scope.split(" ")))``, so the table is sized from
  the number of space-separated pieces, duplicates and empty pieces included;
* granted scopes: ``new HashSet<>(allowed)`` of the client's allowed scopes (a ``TreeSet``), then
  ``retainAll(requested)``; the table follows the size of the allowed set, not of the result;
* no ``scope`` requested: the client's default scopes, a ``TreeSet``;
* refresh without ``scope``: ``new TreeSet<>(original scopes)``; with ``scope``: the granted-scope
  rule with that ``TreeSet`` as the allowed set;
* the invalid list: ``new HashSet<>(requested)``, ``removeAll(allowed)``, printed by ``toString()``;
* tokeninfo and introspection: ``new HashSet<>(stored scopes)``.

The model is pure Python, independent of Python's hash seed, and checked against a real JVM by the
tests. What it leaves out is said in :class:`JavaHashSet`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator

__all__ = [
    "JavaHashSet",
    "default_scope_order",
    "granted_scope_order",
    "hash_map_hash",
    "hash_set_copy_capacity",
    "hash_set_order",
    "invalid_scope_description",
    "invalid_scope_order",
    "java_compare",
    "java_set_string",
    "java_split_scope",
    "java_string_hash",
    "refresh_scope_order",
    "requested_scope_set",
    "stored_scope_order",
    "table_size_for",
    "tree_set_order",
    "utf16_code_units",
]

# java.util.HashMap's constants.
DEFAULT_INITIAL_CAPACITY = 16
MAXIMUM_CAPACITY = 1 << 30
LOAD_FACTOR = 0.75
TREEIFY_THRESHOLD = 8
MIN_TREEIFY_CAPACITY = 64
_INT_MAX = (1 << 31) - 1


def _int32(value: int) -> int:
    """``value`` wrapped to a Java ``int`` (32-bit two's complement)."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def _float32(value: float) -> float:
    """``value`` rounded to a Java ``float`` (IEEE single precision, round to nearest)."""
    result: float = struct.unpack("f", struct.pack("f", value))[0]
    return result


def utf16_code_units(s: str) -> tuple[int, ...]:
    """The ``char`` values of ``s`` as a Java ``String``: UTF-16 code units.

    A character outside the BMP is two units (a surrogate pair); a lone surrogate, which a Python
    ``str`` can hold like a Java ``String``, is one unit.

    >>> utf16_code_units("a\\U0001f600")
    (97, 55357, 56832)
    """
    data = s.encode("utf-16-be", "surrogatepass")
    return struct.unpack(f">{len(data) // 2}H", data)


def java_string_hash(s: str) -> int:
    """``String.hashCode()``: ``h = 31*h + c`` over the UTF-16 code units, in 32-bit signed arithmetic.

    >>> java_string_hash("Aa") == java_string_hash("BB") == 2112
    True
    """
    h = 0
    for unit in utf16_code_units(s):
        h = (31 * h + unit) & 0xFFFFFFFF
    return _int32(h)


def hash_map_hash(s: str) -> int:
    """``HashMap.hash(key)`` for a ``String`` key: ``h ^ (h >>> 16)``, as a Java ``int``."""
    h = java_string_hash(s) & 0xFFFFFFFF
    return _int32(h ^ (h >> 16))


def java_compare(a: str, b: str) -> int:
    """``a.compareTo(b)``: sign and value as Java computes them, over UTF-16 code units.

    The first differing code unit decides; otherwise the shorter string comes first. For characters
    outside the BMP this differs from comparing Python ``str`` (code points): ``"\\U00010000"``
    (units D800 DC00) sorts before ``"\\uffff"`` in Java.
    """
    ua, ub = utf16_code_units(a), utf16_code_units(b)
    for x, y in zip(ua, ub, strict=False):
        if x != y:
            return x - y
    return len(ua) - len(ub)


def _tree_key(s: str) -> bytes:
    # Big-endian UTF-16 bytes compare like String.compareTo: unit by unit, prefix first.
    return s.encode("utf-16-be", "surrogatepass")


def tree_set_order(items: Iterable[str]) -> list[str]:
    """The iteration order of ``new TreeSet<String>(items)``: duplicates dropped, ascending
    ``String.compareTo`` (UTF-16 code unit order, see :func:`java_compare`).

    >>> tree_set_order(["write", "read", "write"])
    ['read', 'write']
    """
    return sorted(set(items), key=_tree_key)


def table_size_for(capacity: int) -> int:
    """``HashMap.tableSizeFor``: the power of two a ``HashMap(capacity)`` allocates (1 for 0 or 1,
    at most 2**30)."""
    if capacity <= 1:
        return 1
    return min(1 << (capacity - 1).bit_length(), MAXIMUM_CAPACITY)


def hash_set_copy_capacity(size: int, *, jdk: int = 17) -> int:
    """The table size of ``new HashSet<>(c)`` for a collection ``c`` of ``size`` elements.

    Java 8-17: ``new HashMap<>(Math.max((int) (c.size()/.75f) + 1, 16))`` (float arithmetic);
    Java 21 and later: ``HashMap.newHashMap(Math.max(c.size(), 12))``, that is
    ``(int) Math.ceil(n / 0.75)``. Which release between 17 and 21 switched is UNCONFIRMED
    (reference §7.1); ``jdk`` below 21 takes the older form.

    >>> [hash_set_copy_capacity(n) for n in (11, 12, 23, 24)]
    [16, 32, 32, 64]
    >>> [hash_set_copy_capacity(n, jdk=21) for n in (12, 13, 24, 25)]
    [16, 32, 32, 64]
    """
    if size < 0:
        raise ValueError(f"a collection has no size {size}")
    if jdk >= 21:
        wanted = max(size, 12)
        # (int) Math.ceil(n / 0.75) in double arithmetic, done exactly on integers: ceil(4n / 3).
        initial = min(-(-4 * wanted // 3), _INT_MAX)
    else:
        initial = max(int(_float32(_float32(float(size)) / LOAD_FACTOR)) + 1, 16)
    return table_size_for(initial)


class JavaHashSet:
    """A ``java.util.HashSet<String>`` that iterates in the same order as Java's (Java 8 and later).

    The model follows ``HashMap``: a table of power-of-two size ``n``, allocated on the first add;
    an element goes to bucket ``(n - 1) & hash_map_hash(e)``, at the tail of that bucket's list;
    adding an element already present changes nothing; when the size exceeds ``0.75 * n`` the table
    doubles and each bucket splits into a low and a high list that keep their relative order; removal
    unlinks the element and never shrinks the table. Iteration walks the buckets by ascending index,
    each bucket in list order.

    Tree bins: when a bucket's list gets its 9th entry (``TREEIFY_THRESHOLD`` is 8, counted before
    the new entry), ``HashMap.treeifyBin`` doubles the table instead while it has fewer than 64
    buckets; that case is modelled exactly (the JVM test checks it). In a table of 64 buckets or more,
    Java turns the bucket into a red-black tree and moves the tree's root to the front of the bucket's
    iteration order. This model keeps the list order there and sets :attr:`treeified`, so the order
    of that one bucket may then differ from Java's. It takes nine scopes whose spread hashes share
    their six or more lowest bits, which realistic scope sets never have (reference §7.1 item 6).

    :param initial_capacity: as ``new HashSet<>(initialCapacity)``; the table gets
        ``table_size_for(initial_capacity)`` entries. The default 16 is also ``new HashSet<>()``.
    """

    __slots__ = ("_size", "_table", "_threshold", "treeified")

    def __init__(self, initial_capacity: int = DEFAULT_INITIAL_CAPACITY) -> None:
        if initial_capacity < 0:
            raise ValueError(f"Illegal initial capacity: {initial_capacity}")
        # As in HashMap(int): the table is allocated on the first add, with this many buckets.
        self._threshold = table_size_for(min(initial_capacity, MAXIMUM_CAPACITY))
        self._table: list[list[tuple[int, str]]] = []
        self._size = 0
        #: True once a bucket became a tree bin in Java, whose order this model does not reproduce.
        self.treeified = False

    @classmethod
    def copy_of(cls, items: Iterable[str], *, jdk: int = 17) -> JavaHashSet:
        """``new HashSet<>(c)``: a table sized from ``c``'s size (duplicates count, see
        :func:`hash_set_copy_capacity`), then every element added in ``c``'s iteration order."""
        elements = list(items)
        result = cls(hash_set_copy_capacity(len(elements), jdk=jdk))
        result.add_all(elements)
        return result

    @property
    def capacity(self) -> int:
        """The number of buckets in the table (what ``HashMap`` would allocate if none yet)."""
        return len(self._table) or self._threshold

    def _resize(self) -> None:
        # HashMap.resize: the first call allocates the table, later ones double it.
        old_cap = len(self._table)
        if old_cap >= MAXIMUM_CAPACITY:
            self._threshold = _INT_MAX
            return
        new_cap = old_cap << 1 if old_cap else self._threshold
        self._threshold = (
            min(int(new_cap * LOAD_FACTOR), _INT_MAX) if new_cap < MAXIMUM_CAPACITY else _INT_MAX
        )
        new_table: list[list[tuple[int, str]]] = [[] for _ in range(new_cap)]
        for index, bucket in enumerate(self._table):
            # The lo/hi split: an entry stays at ``index`` or moves to ``index + old_cap``; both
            # lists keep the bucket's order.
            for entry in bucket:
                new_table[index + (entry[0] & old_cap)].append(entry)
        self._table = new_table

    def add(self, element: str) -> bool:
        """``add(e)``: ``True`` when ``element`` was not yet in the set."""
        if not self._table:
            self._resize()
        h = hash_map_hash(element) & 0xFFFFFFFF
        n = len(self._table)
        bucket = self._table[(n - 1) & h]
        if any(key == element for _, key in bucket):
            return False
        bucket.append((h, element))
        if len(bucket) > TREEIFY_THRESHOLD:
            if n < MIN_TREEIFY_CAPACITY:
                self._resize()
            else:
                self.treeified = True
        self._size += 1
        if self._size > self._threshold:
            self._resize()
        return True

    def add_all(self, elements: Iterable[str]) -> bool:
        """``addAll(c)``: adds in ``elements``' order; ``True`` when the set changed."""
        changed = False
        for element in elements:
            changed |= self.add(element)
        return changed

    def remove(self, element: str) -> bool:
        """``remove(o)``: ``True`` when ``element`` was in the set."""
        if not self._table:
            return False
        h = hash_map_hash(element) & 0xFFFFFFFF
        bucket = self._table[(len(self._table) - 1) & h]
        for position, (_, key) in enumerate(bucket):
            if key == element:
                del bucket[position]
                self._size -= 1
                return True
        return False

    def retain_all(self, elements: Iterable[str]) -> bool:
        """``retainAll(c)``: drops every element not in ``elements``; the others keep their places."""
        keep = set(elements)
        return self._drop([element for element in self if element not in keep])

    def remove_all(self, elements: Iterable[str]) -> bool:
        """``removeAll(c)``: drops every element in ``elements``; the others keep their places."""
        drop = set(elements)
        return self._drop([element for element in self if element in drop])

    def _drop(self, elements: list[str]) -> bool:
        for element in elements:
            self.remove(element)
        return bool(elements)

    def __iter__(self) -> Iterator[str]:
        for bucket in self._table:
            for _, key in bucket:
                yield key

    def __len__(self) -> int:
        return self._size

    def __contains__(self, element: object) -> bool:
        if not isinstance(element, str) or not self._table:
            return False
        bucket = self._table[(len(self._table) - 1) & hash_map_hash(element)]
        return any(key == element for _, key in bucket)

    def __str__(self) -> str:
        """``toString()``: ``[a, b]``."""
        return java_set_string(self)

    def __repr__(self) -> str:
        return f"JavaHashSet({list(self)!r}, capacity={self.capacity})"


def java_set_string(elements: Iterable[str]) -> str:
    """``AbstractCollection.toString()`` of a set iterating as ``elements``: ``[a, b]``, ``[]``."""
    return "[" + ", ".join(elements) + "]"


def hash_set_order(items: Iterable[str], initial_capacity: int = DEFAULT_INITIAL_CAPACITY) -> list[str]:
    """The iteration order of ``new HashSet<>(initial_capacity)`` after ``add`` of each item in turn.

    With the default this is also ``new HashSet<>()`` filled by ``add``. For ``new HashSet<>(c)``
    use :meth:`JavaHashSet.copy_of`, or pass ``hash_set_copy_capacity(len(c))``.

    >>> hash_set_order(["foo", "bar"])
    ['bar', 'foo']
    """
    result = JavaHashSet(initial_capacity)
    result.add_all(items)
    return list(result)


# --- the places where AM orders scopes (reference §7.1) -----------------------------------------


def java_split_scope(raw: str) -> list[str]:
    """``raw.split(" ")`` as Java splits: on every single space, trailing empty pieces dropped
    (so ``"a  b"`` gives ``["a", "", "b"]`` and ``" "`` gives ``[]``); ``[]`` for ``""``."""
    pieces = raw.split(" ")
    while pieces and not pieces[-1]:
        pieces.pop()
    return pieces


def requested_scope_set(raw: str | None) -> JavaHashSet:
    """The requested scopes as AM holds them (``Utils.splitScope``):
    ``new HashSet<>(Arrays.asList(raw.split(" ")))``, an empty set for a missing or empty ``raw``.

    Its table is sized from the number of pieces, duplicates and empty pieces included, which decides
    the order of :func:`invalid_scope_order` when there are a dozen pieces or more.
    """
    if not raw:
        return JavaHashSet()
    return JavaHashSet.copy_of(java_split_scope(raw))


def granted_scope_order(allowed: Iterable[str], requested: Iterable[str], *, jdk: int = 17) -> list[str]:
    """The granted ``scope`` when the request names scopes: ``new HashSet<>(allowed)`` with
    ``allowed`` a ``TreeSet`` (so it is copied in sorted order), then ``retainAll(requested)``.

    :param allowed: the client's allowed scopes; on a refresh with ``scope``, the original token's
        scopes (``AccessTokenService.refreshToken`` passes them as both allowed and default set).
    :param requested: the requested scopes; only membership matters here.

    >>> granted_scope_order(["cn", "mail", "openid"], ["mail", "cn"])
    ['mail', 'cn']
    """
    granted = JavaHashSet.copy_of(tree_set_order(allowed), jdk=jdk)
    granted.retain_all(requested)
    return list(granted)


def default_scope_order(default_scopes: Iterable[str]) -> list[str]:
    """The granted ``scope`` when the request names none: the client's default scopes, a ``TreeSet``."""
    return tree_set_order(default_scopes)


def refresh_scope_order(original: Iterable[str], requested_raw: str | None, *, jdk: int = 17) -> list[str]:
    """The ``scope`` of a refresh answer: ``new TreeSet<>(original)`` when ``scope`` is missing or
    empty, else :func:`granted_scope_order` with the original scopes as the allowed set.

    It does not check that ``requested_raw`` stays within ``original``; a broader request is an
    ``invalid_scope`` whose list is ``invalid_scope_order(requested_raw, original)``.
    """
    requested = requested_scope_set(requested_raw)
    if not len(requested):
        return tree_set_order(original)
    return granted_scope_order(original, requested, jdk=jdk)


def invalid_scope_order(requested_raw: str, allowed: Iterable[str], *, jdk: int = 17) -> list[str]:
    """The scopes named by ``Unknown/invalid scope(s): [...]``: the requested set
    (:func:`requested_scope_set`) copied by ``new HashSet<>(requested)``, then ``removeAll(allowed)``.

    :param requested_raw: the request's ``scope`` parameter as sent (space-separated).
    :param allowed: the client's allowed scopes; on a refresh, the original token's scopes.

    >>> invalid_scope_order("admin root", ["read"])
    ['root', 'admin']
    """
    requested = requested_scope_set(requested_raw)
    invalid = JavaHashSet.copy_of(requested, jdk=jdk)
    invalid.remove_all(allowed)
    return list(invalid)


def invalid_scope_description(requested_raw: str, allowed: Iterable[str], *, jdk: int = 17) -> str:
    """AM's ``error_description`` for scopes outside the allowed set.

    >>> invalid_scope_description("admin root", ["read"])
    'Unknown/invalid scope(s): [root, admin]'
    """
    return "Unknown/invalid scope(s): " + java_set_string(
        invalid_scope_order(requested_raw, allowed, jdk=jdk)
    )


def stored_scope_order(stored: Iterable[str], *, jdk: int = 17) -> list[str]:
    """The ``scope`` of tokeninfo (array) and introspection (space-joined string): the token's stored
    scopes read back as ``new HashSet<>(stored)``.

    :param stored: the scopes in the order the token was issued with (the granted order printed in
        the token answer, sorted when it came from a ``TreeSet``).

    >>> stored_scope_order(["read", "write"])
    ['read', 'write']
    """
    return list(JavaHashSet.copy_of(stored, jdk=jdk))
