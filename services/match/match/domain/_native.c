/*
 * match.domain._native: the compiled inner loops of the Match (M2, M3, M4).
 *
 * Each function is the C twin of pure-Python code that stays the reference (the
 * property tests in tests/match/test_match_native.py compare the two on random
 * and deliberately broken input, byte for byte). None of them decides anything
 * the Python code does not: they take the same inputs and return the same
 * values, and where input is irregular they give up (return None) so that the
 * Python code accepts or refuses it and names the fault.
 *
 *   load(bytes) -> index capsule | None
 *       A strict reader of regular SNAPSHOT files straight into integer arrays
 *       (see the "load" section): the fast path of loads_json + parse_snapshot.
 *   materialize(index) -> (applicants, track rows, withdrawn)
 *       The Snapshot's dicts built from an index (one str object per code).
 *   solve_index(index) -> (matches, unfilled)
 *       engine.solve_reference's deferred acceptance (applicant proposing,
 *       McVitie-Wilson order, one max-heap of held ranks per track) on the arrays.
 *   canonical_index(index) -> bytes
 *       The canonical JSON text of the snapshot, which snapshot_sha256 hashes.
 *
 * and, for Snapshots built from dicts (parse_snapshot):
 *
 *   solve(applicants, tracks, withdrawn) -> (matches, unfilled)
 *       The same deferred acceptance over the Snapshot's dicts; an unknown track
 *       in a list raises KeyError (as the reference does).
 *   canonical_snapshot(applicants, tracks, withdrawn_sorted) -> bytes | None
 *       The canonical JSON text, or None when a code needs JSON escaping or a
 *       value is not of the plain type (the Python code handles those).
 *   dumps_result(matches, unfilled, sha) -> bytes | None
 *       The canonical bytes of a RESULT file (canonical JSON + newline), or None
 *       likewise.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

static PyObject *str_positions; /* "positions" */
static PyObject *str_ranks;     /* "ranks" */
static PyObject *str_rank_of;   /* "rank_of" */

#define IRREGULAR 1 /* give up: the Python path reports the problem */

static int
is_seq(PyObject *o)
{
    return PyList_CheckExact(o) || PyTuple_CheckExact(o);
}

/* ------------------------------------------------------------------ */
/* solve */

typedef struct {
    int32_t rank; /* the track's rank of the held applicant (0 = most preferred) */
    int32_t app;  /* applicant number */
} Held;

typedef struct {
    PyObject *code;     /* strong */
    PyObject *rank_of;  /* strong; NULL when the track is closed */
    PyObject *positions; /* strong */
    Held *heap;         /* max-heap on rank: heap[0] is the worst held */
    Py_ssize_t cap;     /* min(positions, len(ranks)); 0 = closed */
    Py_ssize_t size;
} TrackState;

typedef struct {
    PyObject *code;  /* strong */
    PyObject *prefs; /* strong, list or tuple */
    Py_ssize_t next; /* next entry to propose to */
} AppState;

static void
heap_sift_down(Held *heap, Py_ssize_t size, Held item)
{
    Py_ssize_t at = 0;
    for (;;) {
        Py_ssize_t child = 2 * at + 1;
        if (child >= size)
            break;
        if (child + 1 < size && heap[child + 1].rank > heap[child].rank)
            child++;
        if (heap[child].rank <= item.rank)
            break;
        heap[at] = heap[child];
        at = child;
    }
    heap[at] = item;
}

static void
heap_push(Held *heap, Py_ssize_t size, Held item) /* size = count before the push */
{
    Py_ssize_t at = size;
    while (at > 0) {
        Py_ssize_t parent = (at - 1) / 2;
        if (heap[parent].rank >= item.rank)
            break;
        heap[at] = heap[parent];
        at = parent;
    }
    heap[at] = item;
}

static PyObject *
native_solve(PyObject *self, PyObject *args)
{
    PyObject *applicants, *tracks, *withdrawn;
    if (!PyArg_ParseTuple(args, "O!O!O:solve", &PyDict_Type, &applicants, &PyDict_Type, &tracks, &withdrawn))
        return NULL;
    if (!PyAnySet_Check(withdrawn)) {
        PyErr_SetString(PyExc_TypeError, "solve: withdrawn must be a set or frozenset");
        return NULL;
    }
    const Py_ssize_t nA = PyDict_GET_SIZE(applicants), nT = PyDict_GET_SIZE(tracks);
    TrackState *ts = PyMem_Calloc((size_t)nT + 1, sizeof(TrackState));
    AppState *as = PyMem_Calloc((size_t)nA + 1, sizeof(AppState));
    PyObject *track_index = PyDict_New();
    Held *heaps = NULL;
    PyObject *matches = NULL, *unfilled = NULL, *result = NULL;
    Py_ssize_t nts = 0, nas = 0, pos, total = 0;
    PyObject *key, *value;

    if (ts == NULL || as == NULL || track_index == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    pos = 0;
    while (PyDict_Next(tracks, &pos, &key, &value)) {
        if (nts >= nT) {
            PyErr_SetString(PyExc_RuntimeError, "solve: tracks changed size");
            goto done;
        }
        TrackState *t = &ts[nts];
        Py_INCREF(key);
        t->code = key;
        nts++;
        t->positions = PyObject_GetAttr(value, str_positions);
        if (t->positions == NULL)
            goto done;
        PyObject *number = PyLong_FromSsize_t(nts - 1);
        if (number == NULL)
            goto done;
        int failed = PyDict_SetItem(track_index, key, number);
        Py_DECREF(number);
        if (failed)
            goto done;
        PyObject *ranks = PyObject_GetAttr(value, str_ranks);
        if (ranks == NULL)
            goto done;
        Py_ssize_t n_ranks = PyObject_Length(ranks);
        Py_DECREF(ranks);
        if (n_ranks < 0)
            goto done;
        int overflow = 0;
        long long count = PyLong_AsLongLongAndOverflow(t->positions, &overflow);
        if (count == -1 && PyErr_Occurred())
            goto done;
        Py_ssize_t cap = overflow > 0 ? n_ranks : (overflow < 0 || count <= 0) ? 0 : (count < n_ranks ? (Py_ssize_t)count : n_ranks);
        int is_withdrawn = PySet_Contains(withdrawn, key);
        if (is_withdrawn < 0)
            goto done;
        if (cap > 0 && !is_withdrawn) {
            t->rank_of = PyObject_GetAttr(value, str_rank_of);
            if (t->rank_of == NULL)
                goto done;
            if (!PyDict_Check(t->rank_of)) {
                PyErr_SetString(PyExc_TypeError, "solve: Track.rank_of must be a dict");
                goto done;
            }
            t->cap = cap;
            total += cap;
        }
    }
    heaps = PyMem_Malloc(((size_t)total + 1) * sizeof(Held));
    if (heaps == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    total = 0;
    for (Py_ssize_t k = 0; k < nts; k++) {
        ts[k].heap = heaps + total;
        total += ts[k].cap;
    }
    if (nA > INT32_MAX || total > INT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "solve: too many applicants");
        goto done;
    }

    pos = 0;
    while (PyDict_Next(applicants, &pos, &key, &value)) {
        if (nas >= nA) {
            PyErr_SetString(PyExc_RuntimeError, "solve: applicants changed size");
            goto done;
        }
        if (!is_seq(value)) {
            PyErr_SetString(PyExc_TypeError, "solve: an applicant list must be a tuple or list");
            goto done;
        }
        Py_INCREF(key);
        Py_INCREF(value);
        as[nas].code = key;
        as[nas].prefs = value;
        int is_withdrawn = PySet_Contains(withdrawn, key);
        if (is_withdrawn < 0)
            goto done;
        /* a withdrawn applicant never proposes: its list starts exhausted */
        as[nas].next = is_withdrawn ? PySequence_Fast_GET_SIZE(value) : 0;
        nas++;
    }

    /* Deferred acceptance, McVitie-Wilson order: each applicant in turn proposes
       down its list; a displaced applicant resumes at once from where it stopped. */
    for (Py_ssize_t first = 0; first < nas; first++) {
        Py_ssize_t p = first;
        for (;;) {
            AppState *a = &as[p];
            Py_ssize_t n = PySequence_Fast_GET_SIZE(a->prefs);
            PyObject **items = PySequence_Fast_ITEMS(a->prefs);
            Py_ssize_t displaced = -2; /* -2: list exhausted; -1: took a free position */
            while (a->next < n) {
                PyObject *tcode = items[a->next++];
                PyObject *number = PyDict_GetItemWithError(track_index, tcode);
                if (number == NULL) {
                    if (!PyErr_Occurred()) {
                        /* KeyError(tcode) as dict[tcode] raises it: a bare tcode would be taken
                           as the argument tuple (None -> KeyError(), ("X",) -> KeyError("X")) */
                        PyObject *key_args = PyTuple_Pack(1, tcode);
                        if (key_args != NULL) {
                            PyErr_SetObject(PyExc_KeyError, key_args);
                            Py_DECREF(key_args);
                        }
                    }
                    goto done;
                }
                TrackState *t = &ts[PyLong_AsSsize_t(number)];
                if (t->cap == 0)
                    continue;
                PyObject *rank_obj = PyDict_GetItemWithError(t->rank_of, a->code);
                if (rank_obj == NULL) {
                    if (PyErr_Occurred())
                        goto done;
                    continue; /* the track did not rank this applicant */
                }
                long rank = PyLong_AsLong(rank_obj);
                if (rank == -1 && PyErr_Occurred())
                    goto done;
                if (rank < 0 || rank > INT32_MAX) {
                    PyErr_SetString(PyExc_ValueError, "solve: a rank is out of range");
                    goto done;
                }
                Held item = {(int32_t)rank, (int32_t)p};
                if (t->size < t->cap) {
                    heap_push(t->heap, t->size, item);
                    t->size++;
                    displaced = -1;
                    break;
                }
                if (rank < t->heap[0].rank) {
                    displaced = t->heap[0].app;
                    heap_sift_down(t->heap, t->size, item);
                    break;
                }
            }
            if (displaced < 0)
                break;
            p = displaced;
        }
    }

    matches = PyDict_New();
    unfilled = PyDict_New();
    if (matches == NULL || unfilled == NULL)
        goto done;
    for (Py_ssize_t k = 0; k < nas; k++)
        if (PyDict_SetItem(matches, as[k].code, Py_None) < 0)
            goto done;
    for (Py_ssize_t k = 0; k < nts; k++) {
        TrackState *t = &ts[k];
        for (Py_ssize_t h = 0; h < t->size; h++)
            if (PyDict_SetItem(matches, as[t->heap[h].app].code, t->code) < 0)
                goto done;
        PyObject *taken = PyLong_FromSsize_t(t->size);
        if (taken == NULL)
            goto done;
        PyObject *left = PyNumber_Subtract(t->positions, taken);
        Py_DECREF(taken);
        if (left == NULL)
            goto done;
        int failed = PyDict_SetItem(unfilled, t->code, left);
        Py_DECREF(left);
        if (failed)
            goto done;
    }
    result = PyTuple_Pack(2, matches, unfilled);

done:
    Py_XDECREF(matches);
    Py_XDECREF(unfilled);
    Py_XDECREF(track_index);
    PyMem_Free(heaps);
    if (ts != NULL) {
        for (Py_ssize_t k = 0; k < nts; k++) {
            Py_XDECREF(ts[k].code);
            Py_XDECREF(ts[k].rank_of);
            Py_XDECREF(ts[k].positions);
        }
        PyMem_Free(ts);
    }
    if (as != NULL) {
        for (Py_ssize_t k = 0; k < nas; k++) {
            Py_XDECREF(as[k].code);
            Py_XDECREF(as[k].prefs);
        }
        PyMem_Free(as);
    }
    return result;
}

/* ------------------------------------------------------------------ */
/* canonical JSON writers */

typedef struct {
    char *data;
    size_t len, cap;
    int plain; /* 0 once something needed escaping or had an unexpected type */
} Buf;

static int
buf_reserve(Buf *b, size_t more)
{
    if (b->len + more <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 1 << 16;
    while (cap < b->len + more)
        cap *= 2;
    char *data = PyMem_Realloc(b->data, cap);
    if (data == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    b->data = data;
    b->cap = cap;
    return 0;
}

static int
buf_put(Buf *b, const char *s, size_t n)
{
    if (buf_reserve(b, n) < 0)
        return -1;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    return 0;
}

#define PUT(b, lit) buf_put((b), (lit), sizeof(lit) - 1)

/* Write "code": only plain codes (printable ASCII, no quote or backslash), which
   canonical JSON writes as they are; anything else marks the buffer not plain. */
static int
buf_code(Buf *b, PyObject *s)
{
    if (!PyUnicode_Check(s) || !PyUnicode_IS_ASCII(s)) {
        b->plain = 0;
        return 0;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    const unsigned char *p = PyUnicode_1BYTE_DATA(s);
    for (Py_ssize_t i = 0; i < n; i++)
        if (p[i] < 0x20 || p[i] > 0x7e || p[i] == '"' || p[i] == '\\') {
            b->plain = 0;
            return 0;
        }
    if (buf_reserve(b, (size_t)n + 2) < 0)
        return -1;
    b->data[b->len++] = '"';
    memcpy(b->data + b->len, p, (size_t)n);
    b->len += (size_t)n;
    b->data[b->len++] = '"';
    return 0;
}

/* Write a plain int (not bool, not a subclass) in decimal. */
static int
buf_int(Buf *b, PyObject *v)
{
    if (!PyLong_CheckExact(v)) {
        b->plain = 0;
        return 0;
    }
    PyObject *text = PyObject_Str(v);
    if (text == NULL)
        return -1;
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(text, &n);
    int rc = s == NULL ? -1 : buf_put(b, s, (size_t)n);
    Py_DECREF(text);
    return rc;
}

/* ["a","b",...] from a list or tuple of codes */
static int
buf_code_list(Buf *b, PyObject *seq)
{
    if (!is_seq(seq)) {
        b->plain = 0;
        return 0;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    if (PUT(b, "[") < 0)
        return -1;
    for (Py_ssize_t i = 0; i < n && b->plain; i++) {
        if (i && PUT(b, ",") < 0)
            return -1;
        if (buf_code(b, items[i]) < 0)
            return -1;
    }
    return PUT(b, "]");
}

static PyObject *
sorted_keys(PyObject *dict)
{
    PyObject *keys = PyDict_Keys(dict);
    if (keys != NULL && PyList_Sort(keys) < 0)
        Py_CLEAR(keys);
    return keys;
}

static PyObject *
buf_finish(Buf *b, int ok)
{
    PyObject *out = NULL;
    if (ok && b->plain)
        out = PyBytes_FromStringAndSize(b->data, (Py_ssize_t)b->len);
    else if (ok) {
        out = Py_None;
        Py_INCREF(out);
    }
    PyMem_Free(b->data);
    return out;
}

static PyObject *
native_canonical_snapshot(PyObject *self, PyObject *args)
{
    PyObject *applicants, *tracks, *withdrawn;
    if (!PyArg_ParseTuple(args, "O!O!O!:canonical_snapshot", &PyDict_Type, &applicants, &PyDict_Type, &tracks,
                          &PyList_Type, &withdrawn))
        return NULL;
    Buf b = {NULL, 0, 0, 1};
    int ok = 0;
    PyObject *keys = NULL;

    if (PUT(&b, "{\"applicants\":{") < 0 || (keys = sorted_keys(applicants)) == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(keys) && b.plain; i++) {
        PyObject *code = PyList_GET_ITEM(keys, i);
        PyObject *prefs = PyDict_GetItemWithError(applicants, code);
        if (prefs == NULL) {
            if (!PyErr_Occurred())
                b.plain = 0;
            goto done_if_error;
        }
        if ((i && PUT(&b, ",") < 0) || buf_code(&b, code) < 0 || PUT(&b, ":") < 0 || buf_code_list(&b, prefs) < 0)
            goto done;
    }
    Py_CLEAR(keys);
    if (PUT(&b, "},\"tracks\":{") < 0 || (keys = sorted_keys(tracks)) == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(keys) && b.plain; i++) {
        PyObject *code = PyList_GET_ITEM(keys, i);
        PyObject *track = PyDict_GetItemWithError(tracks, code);
        if (track == NULL) {
            if (!PyErr_Occurred())
                b.plain = 0;
            goto done_if_error;
        }
        PyObject *positions = PyObject_GetAttr(track, str_positions);
        if (positions == NULL)
            goto done;
        PyObject *ranks = PyObject_GetAttr(track, str_ranks);
        if (ranks == NULL) {
            Py_DECREF(positions);
            goto done;
        }
        int rc = (i && PUT(&b, ",") < 0) || buf_code(&b, code) < 0 || PUT(&b, ":{\"positions\":") < 0 ||
                 buf_int(&b, positions) < 0 || PUT(&b, ",\"ranks\":") < 0 || buf_code_list(&b, ranks) < 0 ||
                 PUT(&b, "}") < 0;
        Py_DECREF(positions);
        Py_DECREF(ranks);
        if (rc)
            goto done;
    }
    if (PUT(&b, "},\"withdrawn\":") < 0 || buf_code_list(&b, withdrawn) < 0 || PUT(&b, "}") < 0)
        goto done;
done_if_error:
    ok = !PyErr_Occurred();
done:
    Py_XDECREF(keys);
    return buf_finish(&b, ok);
}

static PyObject *
native_dumps_result(PyObject *self, PyObject *args)
{
    PyObject *matches, *unfilled, *sha;
    if (!PyArg_ParseTuple(args, "O!O!O:dumps_result", &PyDict_Type, &matches, &PyDict_Type, &unfilled, &sha))
        return NULL;
    Buf b = {NULL, 0, 0, 1};
    int ok = 0;
    PyObject *keys = NULL;

    if (PUT(&b, "{\"matches\":{") < 0 || (keys = sorted_keys(matches)) == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(keys) && b.plain; i++) {
        PyObject *code = PyList_GET_ITEM(keys, i);
        PyObject *track = PyDict_GetItemWithError(matches, code);
        if (track == NULL) {
            if (!PyErr_Occurred())
                b.plain = 0;
            goto done_if_error;
        }
        if ((i && PUT(&b, ",") < 0) || buf_code(&b, code) < 0 || PUT(&b, ":") < 0)
            goto done;
        if (track == Py_None ? PUT(&b, "null") < 0 : buf_code(&b, track) < 0)
            goto done;
    }
    Py_CLEAR(keys);
    if (PUT(&b, "},\"snapshot_sha256\":") < 0 || buf_code(&b, sha) < 0 || PUT(&b, ",\"unfilled\":{") < 0 ||
        (keys = sorted_keys(unfilled)) == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(keys) && b.plain; i++) {
        PyObject *code = PyList_GET_ITEM(keys, i);
        PyObject *count = PyDict_GetItemWithError(unfilled, code);
        if (count == NULL) {
            if (!PyErr_Occurred())
                b.plain = 0;
            goto done_if_error;
        }
        if ((i && PUT(&b, ",") < 0) || buf_code(&b, code) < 0 || PUT(&b, ":") < 0 || buf_int(&b, count) < 0)
            goto done;
    }
    if (PUT(&b, "}}\n") < 0)
        goto done;
done_if_error:
    ok = !PyErr_Occurred();
done:
    Py_XDECREF(keys);
    return buf_finish(&b, ok);
}

/* ------------------------------------------------------------------ */
/* load: SNAPSHOT bytes -> an integer index (a capsule)
 *
 * A strict reader of the common form of a SNAPSHOT file: the JSON grammar
 * (RFC 8259) restricted to what a regular snapshot needs. Strings must be plain
 * printable ASCII without escapes, positions plain non-negative integers below
 * 10**18, every key known and present once. Anything else - an escape, a
 * float, true/false/null, a duplicate key, an unknown code, a repeated entry,
 * a syntax error - makes load() return None, and the caller falls back to
 * json.loads + the pure-Python parser, which accepts what is legal and names
 * the fault of what is not. Every distinct code is interned once into a small
 * pool; lists become arrays of integers. No Python object is made per entry.
 */

#define CAPSULE_NAME "match.domain._native.Index"

/* Growable arrays. Every count fits in an int32 (list positions and code numbers are
   int32 throughout); a snapshot beyond that is refused with OverflowError. */
#define DEFINE_VEC(Name, push, T)                                              \
    typedef struct {                                                           \
        T *v;                                                                  \
        Py_ssize_t n, cap;                                                     \
    } Name;                                                                    \
    static int push(Name *x, T value)                                          \
    {                                                                          \
        if (x->n == x->cap) {                                                  \
            Py_ssize_t cap = x->cap ? x->cap * 2 : 1024;                       \
            if (x->n >= INT32_MAX - 1) {                                       \
                PyErr_SetString(PyExc_OverflowError, "snapshot too large");    \
                return -1;                                                     \
            }                                                                  \
            T *v = PyMem_Realloc(x->v, (size_t)cap * sizeof(T));               \
            if (v == NULL) {                                                   \
                PyErr_NoMemory();                                              \
                return -1;                                                     \
            }                                                                  \
            x->v = v;                                                          \
            x->cap = cap;                                                      \
        }                                                                      \
        x->v[x->n++] = value;                                                  \
        return 0;                                                              \
    }

DEFINE_VEC(Vec, vec_push, int32_t)
DEFINE_VEC(VecL, vecl_push, long long)

enum { ROLE_NONE = 0, ROLE_APPLICANT = 1, ROLE_TRACK = 2 };

typedef struct {
    /* interned strings: bytes in pool at s_off, s_len long */
    char *pool;
    size_t pool_len, pool_cap;
    Vec s_off, s_len, s_hash, s_role, s_idx;
    uint64_t *slots; /* (hash << 32) | (id + 1); 0 = empty */
    size_t nslots;
    /* applicants, in document order: code string id, list start in a_ent */
    Vec app_sid, a_off, a_ent; /* a_ent: string ids, then track numbers once resolved */
    /* tracks, in document order */
    Vec trk_sid, t_off, t_ent; /* t_ent: string ids, then applicant numbers */
    VecL t_pos;
    Vec w_ent; /* withdrawn entries (string ids) */
    unsigned char *app_wd, *trk_wd;
    /* Python code objects, made on first use */
    PyObject **app_obj, **trk_obj;
} Index;

static void
index_free(Index *ix)
{
    if (ix == NULL)
        return;
    Py_ssize_t nA = ix->app_sid.n, nT = ix->trk_sid.n;
    if (ix->app_obj)
        for (Py_ssize_t i = 0; i < nA; i++)
            Py_XDECREF(ix->app_obj[i]);
    if (ix->trk_obj)
        for (Py_ssize_t i = 0; i < nT; i++)
            Py_XDECREF(ix->trk_obj[i]);
    PyMem_Free(ix->app_obj);
    PyMem_Free(ix->trk_obj);
    Vec *vecs[] = {&ix->s_off, &ix->s_len, &ix->s_hash, &ix->s_role, &ix->s_idx, &ix->app_sid, &ix->a_off,
                   &ix->a_ent, &ix->trk_sid, &ix->t_off, &ix->t_ent, &ix->w_ent};
    for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++)
        PyMem_Free(vecs[i]->v);
    PyMem_Free(ix->t_pos.v);
    PyMem_Free(ix->pool);
    PyMem_Free(ix->slots);
    PyMem_Free(ix->app_wd);
    PyMem_Free(ix->trk_wd);
    PyMem_Free(ix);
}

static void
capsule_destructor(PyObject *capsule)
{
    index_free((Index *)PyCapsule_GetPointer(capsule, CAPSULE_NAME));
}

static int
slots_grow(Index *ix)
{
    size_t nslots = ix->nslots ? ix->nslots * 2 : (size_t)1 << 16;
    uint64_t *slots = PyMem_Calloc(nslots, sizeof(uint64_t));
    if (slots == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t id = 0; id < ix->s_hash.n; id++) {
        uint32_t h = (uint32_t)ix->s_hash.v[id];
        size_t at = h & (nslots - 1);
        while (slots[at])
            at = (at + 1) & (nslots - 1);
        slots[at] = ((uint64_t)h << 32) | (uint64_t)(id + 1);
    }
    PyMem_Free(ix->slots);
    ix->slots = slots;
    ix->nslots = nslots;
    return 0;
}

/* The id of the string s[0:len] (hash h), added to the pool if new; -1 on error. */
static int32_t
intern_bytes(Index *ix, const unsigned char *s, size_t len, uint32_t h)
{
    if ((size_t)(ix->s_hash.n + 1) * 2 > ix->nslots && slots_grow(ix) < 0)
        return -1;
    size_t mask = ix->nslots - 1, at = h & mask;
    for (;;) {
        uint64_t slot = ix->slots[at];
        if (slot == 0)
            break;
        if ((uint32_t)(slot >> 32) == h) {
            int32_t id = (int32_t)(slot & 0xffffffffu) - 1;
            if ((size_t)ix->s_len.v[id] == len && memcmp(ix->pool + ix->s_off.v[id], s, len) == 0)
                return id;
        }
        at = (at + 1) & mask;
    }
    if (ix->s_hash.n >= INT32_MAX - 1 || ix->pool_len + len > (size_t)INT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "snapshot too large");
        return -1;
    }
    if (ix->pool_len + len > ix->pool_cap) {
        size_t cap = ix->pool_cap ? ix->pool_cap : 1 << 16;
        while (cap < ix->pool_len + len)
            cap *= 2;
        char *pool = PyMem_Realloc(ix->pool, cap);
        if (pool == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        ix->pool = pool;
        ix->pool_cap = cap;
    }
    int32_t id = (int32_t)ix->s_hash.n;
    memcpy(ix->pool + ix->pool_len, s, len);
    if (vec_push(&ix->s_off, (int32_t)ix->pool_len) < 0 || vec_push(&ix->s_len, (int32_t)len) < 0 ||
        vec_push(&ix->s_hash, (int32_t)h) < 0 || vec_push(&ix->s_role, ROLE_NONE) < 0 ||
        vec_push(&ix->s_idx, -1) < 0)
        return -1;
    ix->pool_len += len;
    ix->slots[at] = ((uint64_t)h << 32) | (uint64_t)(id + 1);
    return id;
}

typedef struct {
    const unsigned char *p, *end;
    Index *ix;
} Parser;

/* Parser results: 1 ok, 0 irregular (fall back to Python), -1 error (exception set). */

static void
skip_ws(Parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t'))
        ps->p++;
}

static int
take(Parser *ps, unsigned char c)
{
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == c) {
        ps->p++;
        return 1;
    }
    return 0;
}

/* A plain string: its bytes and hash. */
static int
raw_string(Parser *ps, const unsigned char **s, size_t *len, uint32_t *hash)
{
    skip_ws(ps);
    if (ps->p >= ps->end || *ps->p != '"')
        return 0;
    const unsigned char *p = ++ps->p, *end = ps->end;
    uint64_t h = 14695981039346656037ull; /* FNV-1a */
    while (p < end && *p != '"') {
        unsigned char c = *p;
        if (c < 0x20 || c > 0x7e || c == '\\')
            return 0;
        h = (h ^ c) * 1099511628211ull;
        p++;
    }
    if (p >= end)
        return 0;
    *s = ps->p;
    *len = (size_t)(p - ps->p);
    *hash = (uint32_t)(h ^ (h >> 32));
    ps->p = p + 1;
    return 1;
}

static int
code_string(Parser *ps, int32_t *id)
{
    const unsigned char *s;
    size_t len;
    uint32_t h;
    if (!raw_string(ps, &s, &len, &h) || len == 0)
        return 0;
    *id = intern_bytes(ps->ix, s, len, h);
    return *id < 0 ? -1 : 1;
}

static int
is_word(const unsigned char *s, size_t len, const char *word)
{
    return len == strlen(word) && memcmp(s, word, len) == 0;
}

/* ["code", ...] into out */
static int
code_array(Parser *ps, Vec *out)
{
    if (!take(ps, '['))
        return 0;
    if (take(ps, ']'))
        return 1;
    for (;;) {
        int32_t id;
        int rc = code_string(ps, &id);
        if (rc <= 0)
            return rc;
        if (vec_push(out, id) < 0)
            return -1;
        if (take(ps, ','))
            continue;
        return take(ps, ']');
    }
}

/* A new code (key of applicants or tracks): refuses repeats and codes of the other side. */
static int
define_code(Parser *ps, int role, Vec *sids, int32_t *id)
{
    int rc = code_string(ps, id);
    if (rc <= 0)
        return rc;
    Index *ix = ps->ix;
    if (ix->s_role.v[*id] != ROLE_NONE)
        return 0;
    ix->s_role.v[*id] = role;
    ix->s_idx.v[*id] = (int32_t)sids->n;
    return vec_push(sids, *id) < 0 ? -1 : 1;
}

typedef int (*ValueReader)(Parser *ps);

/* {"code": value, ...}: every code new (define_code); its entries start at entries->n */
static int
code_map(Parser *ps, int role, Vec *sids, Vec *offsets, const Vec *entries, ValueReader value)
{
    if (!take(ps, '{'))
        return 0;
    if (take(ps, '}'))
        return 1;
    for (;;) {
        int32_t id;
        int rc = define_code(ps, role, sids, &id);
        if (rc <= 0)
            return rc;
        if (vec_push(offsets, (int32_t)entries->n) < 0)
            return -1;
        if (!take(ps, ':'))
            return 0;
        rc = value(ps);
        if (rc <= 0)
            return rc;
        if (take(ps, ','))
            continue;
        return take(ps, '}');
    }
}

static int
applicant_list(Parser *ps)
{
    return code_array(ps, &ps->ix->a_ent);
}

/* A non-negative integer in JSON's grammar (no leading zero, no fraction or exponent), below 10**18. */
static int
plain_int(Parser *ps, long long *value)
{
    skip_ws(ps);
    const unsigned char *p = ps->p, *start = p;
    long long v = 0;
    while (p < ps->end && *p >= '0' && *p <= '9' && p - start < 18)
        v = v * 10 + (*p++ - '0');
    if (p == start || (p - start > 1 && *start == '0'))
        return 0;
    if (p < ps->end && ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E'))
        return 0;
    ps->p = p;
    *value = v;
    return 1;
}

/* {"positions": n, "ranks": [...]} in either order, each once, nothing else */
static int
track_object(Parser *ps)
{
    Index *ix = ps->ix;
    if (!take(ps, '{'))
        return 0;
    int have_positions = 0, have_ranks = 0;
    long long positions = 0;
    for (int k = 0; k < 2; k++) {
        const unsigned char *s;
        size_t len;
        uint32_t h;
        if (k && !take(ps, ','))
            return 0;
        if (!raw_string(ps, &s, &len, &h) || !take(ps, ':'))
            return 0;
        if (is_word(s, len, "positions") && !have_positions) {
            have_positions = 1;
            if (!plain_int(ps, &positions))
                return 0;
        }
        else if (is_word(s, len, "ranks") && !have_ranks) {
            have_ranks = 1;
            int rc = code_array(ps, &ix->t_ent);
            if (rc <= 0)
                return rc;
        }
        else
            return 0;
    }
    if (!take(ps, '}'))
        return 0;
    return vecl_push(&ix->t_pos, positions) < 0 ? -1 : 1;
}

static int
parse_document(Parser *ps)
{
    int seen[3] = {0, 0, 0};
    if (!take(ps, '{'))
        return 0;
    for (;;) {
        const unsigned char *s;
        size_t len;
        uint32_t h;
        int rc;
        if (!raw_string(ps, &s, &len, &h) || !take(ps, ':'))
            return 0;
        if (is_word(s, len, "applicants") && !seen[0]) {
            seen[0] = 1;
            rc = code_map(ps, ROLE_APPLICANT, &ps->ix->app_sid, &ps->ix->a_off, &ps->ix->a_ent, applicant_list);
        }
        else if (is_word(s, len, "tracks") && !seen[1]) {
            seen[1] = 1;
            rc = code_map(ps, ROLE_TRACK, &ps->ix->trk_sid, &ps->ix->t_off, &ps->ix->t_ent, track_object);
        }
        else if (is_word(s, len, "withdrawn") && !seen[2]) {
            seen[2] = 1;
            rc = code_array(ps, &ps->ix->w_ent);
        }
        else
            return 0;
        if (rc <= 0)
            return rc;
        if (take(ps, ','))
            continue;
        if (!take(ps, '}'))
            return 0;
        break;
    }
    skip_ws(ps);
    return ps->p == ps->end && seen[0] && seen[1];
}

/* Lists name known codes of the other side, without repeats; withdrawn names known codes once. */
static int
resolve(Index *ix)
{
    Py_ssize_t nA = ix->app_sid.n, nT = ix->trk_sid.n;
    if (vec_push(&ix->a_off, (int32_t)ix->a_ent.n) < 0 || vec_push(&ix->t_off, (int32_t)ix->t_ent.n) < 0)
        return -1;
    int32_t *stamp = PyMem_Malloc(((size_t)(nA > nT ? nA : nT) + 1) * sizeof(int32_t));
    ix->app_wd = PyMem_Calloc((size_t)nA + 1, 1);
    ix->trk_wd = PyMem_Calloc((size_t)nT + 1, 1);
    if (stamp == NULL || ix->app_wd == NULL || ix->trk_wd == NULL) {
        PyMem_Free(stamp);
        PyErr_NoMemory();
        return -1;
    }
    int ok = 1;
    for (Py_ssize_t t = 0; t < nT; t++)
        stamp[t] = -1;
    for (Py_ssize_t a = 0; a < nA && ok; a++)
        for (int32_t j = ix->a_off.v[a]; j < ix->a_off.v[a + 1]; j++) {
            int32_t id = ix->a_ent.v[j];
            if (ix->s_role.v[id] != ROLE_TRACK || stamp[ix->s_idx.v[id]] == a) {
                ok = 0;
                break;
            }
            stamp[ix->s_idx.v[id]] = (int32_t)a;
            ix->a_ent.v[j] = ix->s_idx.v[id];
        }
    for (Py_ssize_t a = 0; a < nA; a++)
        stamp[a] = -1;
    for (Py_ssize_t t = 0; t < nT && ok; t++)
        for (int32_t j = ix->t_off.v[t]; j < ix->t_off.v[t + 1]; j++) {
            int32_t id = ix->t_ent.v[j];
            if (ix->s_role.v[id] != ROLE_APPLICANT || stamp[ix->s_idx.v[id]] == t) {
                ok = 0;
                break;
            }
            stamp[ix->s_idx.v[id]] = (int32_t)t;
            ix->t_ent.v[j] = ix->s_idx.v[id];
        }
    PyMem_Free(stamp);
    for (Py_ssize_t w = 0; w < ix->w_ent.n && ok; w++) {
        int32_t id = ix->w_ent.v[w];
        unsigned char *flag = ix->s_role.v[id] == ROLE_APPLICANT ? &ix->app_wd[ix->s_idx.v[id]]
                              : ix->s_role.v[id] == ROLE_TRACK   ? &ix->trk_wd[ix->s_idx.v[id]]
                                                                 : NULL;
        if (flag == NULL || *flag)
            ok = 0;
        else
            *flag = 1;
    }
    return ok;
}

static PyObject *
native_load(PyObject *self, PyObject *arg)
{
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    Index *ix = PyMem_Calloc(1, sizeof(Index));
    if (ix == NULL) {
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    Parser ps = {(const unsigned char *)view.buf, (const unsigned char *)view.buf + view.len, ix};
    int rc = slots_grow(ix) < 0 ? -1 : parse_document(&ps);
    PyBuffer_Release(&view);
    if (rc > 0)
        rc = resolve(ix);
    if (rc <= 0) {
        index_free(ix);
        if (rc < 0)
            return NULL;
        Py_RETURN_NONE;
    }
    PyObject *capsule = PyCapsule_New(ix, CAPSULE_NAME, capsule_destructor);
    if (capsule == NULL)
        index_free(ix);
    return capsule;
}

static Index *
get_index(PyObject *capsule)
{
    return (Index *)PyCapsule_GetPointer(capsule, CAPSULE_NAME);
}

static PyObject *
code_object(Index *ix, int32_t sid)
{
    Py_ssize_t len = ix->s_len.v[sid];
    PyObject *s = PyUnicode_New(len, 127);
    if (s != NULL)
        memcpy(PyUnicode_1BYTE_DATA(s), ix->pool + ix->s_off.v[sid], (size_t)len);
    return s;
}

/* One str object per code, shared by every structure made from the index. */
static int
ensure_objects(Index *ix)
{
    if (ix->app_obj != NULL)
        return 0;
    Py_ssize_t nA = ix->app_sid.n, nT = ix->trk_sid.n;
    PyObject **app_obj = PyMem_Calloc((size_t)nA + 1, sizeof(PyObject *));
    PyObject **trk_obj = PyMem_Calloc((size_t)nT + 1, sizeof(PyObject *));
    if (app_obj == NULL || trk_obj == NULL) {
        PyMem_Free(app_obj);
        PyMem_Free(trk_obj);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t a = 0; a < nA; a++)
        if ((app_obj[a] = code_object(ix, ix->app_sid.v[a])) == NULL)
            goto failed;
    for (Py_ssize_t t = 0; t < nT; t++)
        if ((trk_obj[t] = code_object(ix, ix->trk_sid.v[t])) == NULL)
            goto failed;
    /* set only once complete: a half-made table would pass for done at the next call */
    ix->app_obj = app_obj;
    ix->trk_obj = trk_obj;
    return 0;
failed:
    for (Py_ssize_t a = 0; a < nA; a++)
        Py_XDECREF(app_obj[a]);
    for (Py_ssize_t t = 0; t < nT; t++)
        Py_XDECREF(trk_obj[t]);
    PyMem_Free(app_obj);
    PyMem_Free(trk_obj);
    return -1;
}

/* (applicants {code: tuple of tracks}, [(code, positions, ranks tuple, rank_of dict)], [withdrawn codes]) */
static PyObject *
native_materialize(PyObject *self, PyObject *capsule)
{
    Index *ix = get_index(capsule);
    if (ix == NULL || ensure_objects(ix) < 0)
        return NULL;
    Py_ssize_t nA = ix->app_sid.n, nT = ix->trk_sid.n;
    PyObject *applicants = PyDict_New(), *rows = PyList_New(nT), *withdrawn = PyList_New(ix->w_ent.n);
    PyObject *result = NULL;
    if (applicants == NULL || rows == NULL || withdrawn == NULL)
        goto done;
    for (Py_ssize_t a = 0; a < nA; a++) {
        int32_t lo = ix->a_off.v[a], hi = ix->a_off.v[a + 1];
        PyObject *tup = PyTuple_New(hi - lo);
        if (tup == NULL)
            goto done;
        for (int32_t j = lo; j < hi; j++) {
            PyObject *code = ix->trk_obj[ix->a_ent.v[j]];
            Py_INCREF(code);
            PyTuple_SET_ITEM(tup, j - lo, code);
        }
        int failed = PyDict_SetItem(applicants, ix->app_obj[a], tup);
        Py_DECREF(tup);
        if (failed)
            goto done;
    }
    for (Py_ssize_t t = 0; t < nT; t++) {
        int32_t lo = ix->t_off.v[t], hi = ix->t_off.v[t + 1];
        PyObject *tup = PyTuple_New(hi - lo), *rank_of = PyDict_New(), *positions = PyLong_FromLongLong(ix->t_pos.v[t]);
        PyObject *row = NULL;
        int failed = tup == NULL || rank_of == NULL || positions == NULL;
        for (int32_t j = lo; j < hi && !failed; j++) {
            PyObject *code = ix->app_obj[ix->t_ent.v[j]];
            Py_INCREF(code);
            PyTuple_SET_ITEM(tup, j - lo, code);
            PyObject *rank = PyLong_FromLong(j - lo);
            failed = rank == NULL || PyDict_SetItem(rank_of, code, rank) < 0;
            Py_XDECREF(rank);
        }
        if (!failed)
            row = PyTuple_Pack(4, ix->trk_obj[t], positions, tup, rank_of);
        Py_XDECREF(tup);
        Py_XDECREF(rank_of);
        Py_XDECREF(positions);
        if (row == NULL)
            goto done;
        PyList_SET_ITEM(rows, t, row);
    }
    for (Py_ssize_t w = 0; w < ix->w_ent.n; w++) {
        int32_t id = ix->w_ent.v[w];
        PyObject *code = ix->s_role.v[id] == ROLE_APPLICANT ? ix->app_obj[ix->s_idx.v[id]] : ix->trk_obj[ix->s_idx.v[id]];
        Py_INCREF(code);
        PyList_SET_ITEM(withdrawn, w, code);
    }
    result = PyTuple_Pack(3, applicants, rows, withdrawn);
done:
    Py_XDECREF(applicants);
    Py_XDECREF(rows);
    Py_XDECREF(withdrawn);
    return result;
}

/* Deferred acceptance on the index: the same algorithm as solve(), on integer arrays. */
static PyObject *
native_solve_index(PyObject *self, PyObject *capsule)
{
    Index *ix = get_index(capsule);
    if (ix == NULL || ensure_objects(ix) < 0)
        return NULL;
    const Py_ssize_t nA = ix->app_sid.n, nT = ix->trk_sid.n, nE = ix->a_ent.n;
    const int32_t *a_off = ix->a_off.v, *a_ent = ix->a_ent.v, *t_off = ix->t_off.v, *t_ent = ix->t_ent.v;
    int32_t *prank = PyMem_Malloc(((size_t)nE + 1) * sizeof(int32_t));
    int32_t *ent_app = PyMem_Malloc(((size_t)nE + 1) * sizeof(int32_t));
    int32_t *group = PyMem_Malloc(((size_t)nE + 1) * sizeof(int32_t));
    int32_t *start = PyMem_Calloc((size_t)nT + 2, sizeof(int32_t));
    int32_t *mark_t = PyMem_Malloc(((size_t)nA + 1) * sizeof(int32_t));
    int32_t *mark_r = PyMem_Malloc(((size_t)nA + 1) * sizeof(int32_t));
    int32_t *next = PyMem_Malloc(((size_t)nA + 1) * sizeof(int32_t));
    Py_ssize_t *cap = PyMem_Calloc((size_t)nT + 1, sizeof(Py_ssize_t));
    Py_ssize_t *size = PyMem_Calloc((size_t)nT + 1, sizeof(Py_ssize_t));
    Py_ssize_t *heap_at = PyMem_Calloc((size_t)nT + 1, sizeof(Py_ssize_t));
    Held *heaps = NULL;
    PyObject *matches = NULL, *unfilled = NULL, *result = NULL;
    if (!prank || !ent_app || !group || !start || !mark_t || !mark_r || !next || !cap || !size || !heap_at) {
        PyErr_NoMemory();
        goto done;
    }
    /* rank of each applicant-list entry at its track (-1: the track did not rank it),
       by grouping the entries per track (a transpose), then one pass per track. */
    for (Py_ssize_t a = 0; a < nA; a++)
        for (int32_t j = a_off[a]; j < a_off[a + 1]; j++) {
            ent_app[j] = (int32_t)a;
            start[a_ent[j] + 2]++;
        }
    for (Py_ssize_t t = 0; t < nT; t++)
        start[t + 2] += start[t + 1];
    for (Py_ssize_t j = 0; j < nE; j++)
        group[start[a_ent[j] + 1]++] = (int32_t)j; /* afterwards start[t] .. start[t+1] is track t's group */
    for (Py_ssize_t a = 0; a < nA; a++)
        mark_t[a] = -1;
    for (Py_ssize_t t = 0; t < nT; t++) {
        for (int32_t k = t_off[t]; k < t_off[t + 1]; k++) {
            mark_t[t_ent[k]] = (int32_t)t;
            mark_r[t_ent[k]] = k - t_off[t];
        }
        for (int32_t g = start[t]; g < start[t + 1]; g++) {
            int32_t j = group[g], a = ent_app[j];
            prank[j] = mark_t[a] == t ? mark_r[a] : -1;
        }
    }
    Py_ssize_t total = 0;
    for (Py_ssize_t t = 0; t < nT; t++) {
        long long ranked = t_off[t + 1] - t_off[t], positions = ix->t_pos.v[t];
        cap[t] = ix->trk_wd[t] || positions <= 0 ? 0 : (Py_ssize_t)(positions < ranked ? positions : ranked);
        heap_at[t] = total;
        total += cap[t];
    }
    heaps = PyMem_Malloc(((size_t)total + 1) * sizeof(Held));
    if (heaps == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t a = 0; a < nA; a++)
        next[a] = ix->app_wd[a] ? a_off[a + 1] : a_off[a]; /* a withdrawn applicant never proposes */

    for (Py_ssize_t first = 0; first < nA; first++) {
        int32_t p = (int32_t)first;
        for (;;) {
            int32_t displaced = -2, end = a_off[p + 1];
            while (next[p] < end) {
                int32_t j = next[p]++, t = a_ent[j], rank = prank[j];
                if (rank < 0 || cap[t] == 0)
                    continue;
                Held *heap = heaps + heap_at[t];
                Held item = {rank, p};
                if (size[t] < cap[t]) {
                    heap_push(heap, size[t], item);
                    size[t]++;
                    displaced = -1;
                    break;
                }
                if (rank < heap[0].rank) {
                    displaced = heap[0].app;
                    heap_sift_down(heap, size[t], item);
                    break;
                }
            }
            if (displaced < 0)
                break;
            p = displaced;
        }
    }

    matches = PyDict_New();
    unfilled = PyDict_New();
    if (matches == NULL || unfilled == NULL)
        goto done;
    for (Py_ssize_t a = 0; a < nA; a++)
        if (PyDict_SetItem(matches, ix->app_obj[a], Py_None) < 0)
            goto done;
    for (Py_ssize_t t = 0; t < nT; t++) {
        Held *heap = heaps + heap_at[t];
        for (Py_ssize_t h = 0; h < size[t]; h++)
            if (PyDict_SetItem(matches, ix->app_obj[heap[h].app], ix->trk_obj[t]) < 0)
                goto done;
        PyObject *left = PyLong_FromLongLong(ix->t_pos.v[t] - (long long)size[t]);
        if (left == NULL)
            goto done;
        int failed = PyDict_SetItem(unfilled, ix->trk_obj[t], left);
        Py_DECREF(left);
        if (failed)
            goto done;
    }
    result = PyTuple_Pack(2, matches, unfilled);
done:
    Py_XDECREF(matches);
    Py_XDECREF(unfilled);
    PyMem_Free(prank);
    PyMem_Free(ent_app);
    PyMem_Free(group);
    PyMem_Free(start);
    PyMem_Free(mark_t);
    PyMem_Free(mark_r);
    PyMem_Free(next);
    PyMem_Free(cap);
    PyMem_Free(size);
    PyMem_Free(heap_at);
    PyMem_Free(heaps);
    return result;
}

/* sort string ids by their bytes (= Python's order of ASCII str) */
static const Index *sort_ix; /* qsort has no context argument; the GIL is held throughout */

static int
cmp_sid(const void *x, const void *y)
{
    int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;
    int32_t la = sort_ix->s_len.v[a], lb = sort_ix->s_len.v[b];
    int c = memcmp(sort_ix->pool + sort_ix->s_off.v[a], sort_ix->pool + sort_ix->s_off.v[b],
                   (size_t)(la < lb ? la : lb));
    return c ? c : (la > lb) - (la < lb);
}

static int32_t *
sorted_sids(const Index *ix, const int32_t *sids, Py_ssize_t n)
{
    int32_t *out = PyMem_Malloc(((size_t)n + 1) * sizeof(int32_t));
    if (out == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    if (n)
        memcpy(out, sids, (size_t)n * sizeof(int32_t));
    sort_ix = ix;
    qsort(out, (size_t)n, sizeof(int32_t), cmp_sid);
    sort_ix = NULL;
    return out;
}

static int
buf_sid(Buf *b, const Index *ix, int32_t sid)
{
    size_t len = (size_t)ix->s_len.v[sid];
    if (buf_reserve(b, len + 3) < 0)
        return -1;
    b->data[b->len++] = '"';
    memcpy(b->data + b->len, ix->pool + ix->s_off.v[sid], len);
    b->len += len;
    b->data[b->len++] = '"';
    return 0;
}

/* canonical JSON of the snapshot (codes in the index are all plain: load refused the rest) */
static PyObject *
native_canonical_index(PyObject *self, PyObject *capsule)
{
    Index *ix = get_index(capsule);
    if (ix == NULL)
        return NULL;
    Buf b = {NULL, 0, 0, 1};
    int ok = 0;
    int32_t *apps = NULL, *trks = NULL, *wds = NULL;
    const Py_ssize_t nA = ix->app_sid.n, nT = ix->trk_sid.n;
    if ((apps = sorted_sids(ix, ix->app_sid.v, nA)) == NULL || (trks = sorted_sids(ix, ix->trk_sid.v, nT)) == NULL ||
        (wds = sorted_sids(ix, ix->w_ent.v, ix->w_ent.n)) == NULL)
        goto done;
    if (buf_reserve(&b, (size_t)ix->pool_len + 8 * (size_t)(ix->a_ent.n + ix->t_ent.n) + 64 * (size_t)nT + 64) < 0 ||
        PUT(&b, "{\"applicants\":{") < 0)
        goto done;
    for (Py_ssize_t i = 0; i < nA; i++) {
        int32_t a = ix->s_idx.v[apps[i]];
        if ((i && PUT(&b, ",") < 0) || buf_sid(&b, ix, apps[i]) < 0 || PUT(&b, ":[") < 0)
            goto done;
        for (int32_t j = ix->a_off.v[a]; j < ix->a_off.v[a + 1]; j++)
            if ((j > ix->a_off.v[a] && PUT(&b, ",") < 0) || buf_sid(&b, ix, ix->trk_sid.v[ix->a_ent.v[j]]) < 0)
                goto done;
        if (PUT(&b, "]") < 0)
            goto done;
    }
    if (PUT(&b, "},\"tracks\":{") < 0)
        goto done;
    for (Py_ssize_t i = 0; i < nT; i++) {
        int32_t t = ix->s_idx.v[trks[i]];
        char number[32];
        int n = snprintf(number, sizeof number, "%lld", ix->t_pos.v[t]);
        if ((i && PUT(&b, ",") < 0) || buf_sid(&b, ix, trks[i]) < 0 || PUT(&b, ":{\"positions\":") < 0 ||
            buf_put(&b, number, (size_t)n) < 0 || PUT(&b, ",\"ranks\":[") < 0)
            goto done;
        for (int32_t j = ix->t_off.v[t]; j < ix->t_off.v[t + 1]; j++)
            if ((j > ix->t_off.v[t] && PUT(&b, ",") < 0) || buf_sid(&b, ix, ix->app_sid.v[ix->t_ent.v[j]]) < 0)
                goto done;
        if (PUT(&b, "]}") < 0)
            goto done;
    }
    if (PUT(&b, "},\"withdrawn\":[") < 0)
        goto done;
    for (Py_ssize_t i = 0; i < ix->w_ent.n; i++)
        if ((i && PUT(&b, ",") < 0) || buf_sid(&b, ix, wds[i]) < 0)
            goto done;
    if (PUT(&b, "]}") < 0)
        goto done;
    ok = 1;
done:
    PyMem_Free(apps);
    PyMem_Free(trks);
    PyMem_Free(wds);
    return buf_finish(&b, ok);
}

/* ------------------------------------------------------------------ */

static PyMethodDef methods[] = {
    {"load", native_load, METH_O, "SNAPSHOT bytes -> an index capsule, or None for the Python path."},
    {"materialize", native_materialize, METH_O, "(applicants, track rows, withdrawn) of an index."},
    {"solve_index", native_solve_index, METH_O, "Deferred acceptance on an index: (matches, unfilled)."},
    {"canonical_index", native_canonical_index, METH_O, "Canonical JSON bytes of an index's snapshot."},
    {"solve", native_solve, METH_VARARGS, "Deferred acceptance over a parsed snapshot: (matches, unfilled)."},
    {"canonical_snapshot", native_canonical_snapshot, METH_VARARGS,
     "Canonical JSON bytes of a parsed snapshot, or None when a code needs escaping."},
    {"dumps_result", native_dumps_result, METH_VARARGS,
     "Canonical bytes of a RESULT file, or None when a code needs escaping."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_native", "Compiled inner loops of the Match (see _native.c).", -1, methods,
};

PyMODINIT_FUNC
PyInit__native(void)
{
    str_positions = PyUnicode_InternFromString("positions");
    str_ranks = PyUnicode_InternFromString("ranks");
    str_rank_of = PyUnicode_InternFromString("rank_of");
    if (str_positions == NULL || str_ranks == NULL || str_rank_of == NULL)
        return NULL;
    return PyModule_Create(&module);
}
