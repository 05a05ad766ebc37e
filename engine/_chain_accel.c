/* The quick pass of verify (engine/_chain.py): skip the events that plainly hold.
 *
 * skip_holding(rows, count, previous, heads, committed) reads rows (the ten
 * CHAIN_COLUMNS) from an iterator while each plainly holds: its seq is count + 1, no
 * newer than committed, its hash is SHA-256 over previous + "\n" + hashed_json of its
 * nine fields, and a noted head at its seq says the same hash. It returns
 * (count, previous, row): the seq and hash reached, and the first row it did not pass
 * (None at the end of rows), which the Python walk then judges; so this module only
 * ever says "holds", never why something does not.
 *
 * It builds hashed_json only for fields that need no JSON escaping (no '"', '\\' or
 * control character), where the canonical text is the field between quotes; a row with
 * any other field (escapes, a type the log does not store) is handed back, so the text
 * hashed here can never differ from engine/_mapper.py's. It hashes with OpenSSL's
 * SHA-256 (the library Python's hashlib uses), compares hex digests, and reads nothing
 * but the rows.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <string.h>

static const EVP_MD *sha256; /* fetched once, when the module is imported */

typedef struct {
    char *data;
    Py_ssize_t len;
    Py_ssize_t cap;
} Text;

static int
text_reserve(Text *t, Py_ssize_t more)
{
    if (t->len + more <= t->cap) {
        return 0;
    }
    Py_ssize_t cap = (t->len + more) * 2;
    char *data = PyMem_Realloc(t->data, (size_t)cap);
    if (data == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    t->data = data;
    t->cap = cap;
    return 0;
}

static int
text_put(Text *t, const char *s, Py_ssize_t n)
{
    if (text_reserve(t, n) < 0) {
        return -1;
    }
    memcpy(t->data + t->len, s, (size_t)n);
    t->len += n;
    return 0;
}

#define PUT_LITERAL(t, s) text_put((t), (s), (Py_ssize_t)(sizeof(s) - 1))

/* Outcome of putting one field: put, or the row is not for this pass (or an error). */
enum { PUT = 0, HAND_BACK = 1, FAILED = -1 };

/* A text field as JSON: "value" when it needs no escaping, null for None. */
static int
put_string(Text *t, PyObject *value)
{
    if (value == Py_None) {
        return PUT_LITERAL(t, "null") < 0 ? FAILED : PUT;
    }
    if (!PyUnicode_CheckExact(value)) {
        return HAND_BACK;
    }
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(value, &n);
    if (s == NULL) { /* lone surrogates: the Python walk says what they are */
        PyErr_Clear();
        return HAND_BACK;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == '"' || c == '\\') {
            return HAND_BACK;
        }
    }
    if (text_reserve(t, n + 2) < 0) {
        return FAILED;
    }
    t->data[t->len++] = '"';
    memcpy(t->data + t->len, s, (size_t)n);
    t->len += n;
    t->data[t->len++] = '"';
    return PUT;
}

/* A stored JSON text (the payload) as it stands. */
static int
put_raw(Text *t, PyObject *value)
{
    if (!PyUnicode_CheckExact(value)) {
        return HAND_BACK;
    }
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(value, &n);
    if (s == NULL) {
        PyErr_Clear();
        return HAND_BACK;
    }
    return text_put(t, s, n) < 0 ? FAILED : PUT;
}

static int
put_integer(Text *t, PyObject *value, long long *out)
{
    if (!PyLong_CheckExact(value)) {
        return HAND_BACK;
    }
    int overflow;
    long long n = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (overflow || (n == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        return HAND_BACK;
    }
    char digits[24];
    int len = snprintf(digits, sizeof digits, "%lld", n);
    if (out != NULL) {
        *out = n;
    }
    return text_put(t, digits, len) < 0 ? FAILED : PUT;
}

/* previous + "\n" + hashed_json(seq .. override) of one row, keys sorted. */
static int
put_linked(Text *t, PyObject *previous, PyObject *const *f, long long *seq)
{
    int r;
    t->len = 0;
    if ((r = put_raw(t, previous)) != PUT) return r;
    if (PUT_LITERAL(t, "\n{\"occurred_at\":") < 0) return FAILED;
    if ((r = put_string(t, f[5])) != PUT) return r;
    if (PUT_LITERAL(t, ",\"override\":") < 0) return FAILED;
    if ((r = put_string(t, f[8])) != PUT) return r;
    if (PUT_LITERAL(t, ",\"payload\":") < 0) return FAILED;
    if ((r = put_raw(t, f[7])) != PUT) return r;
    if (PUT_LITERAL(t, ",\"program\":") < 0) return FAILED;
    if ((r = put_string(t, f[2])) != PUT) return r;
    if (PUT_LITERAL(t, ",\"recorded_at\":") < 0) return FAILED;
    if ((r = put_string(t, f[6])) != PUT) return r;
    if (PUT_LITERAL(t, ",\"schema_version\":") < 0) return FAILED;
    if ((r = put_integer(t, f[4], NULL)) != PUT) return r;
    if (PUT_LITERAL(t, ",\"season\":") < 0) return FAILED;
    if ((r = put_string(t, f[1])) != PUT) return r;
    if (PUT_LITERAL(t, ",\"seq\":") < 0) return FAILED;
    if ((r = put_integer(t, f[0], seq)) != PUT) return r;
    if (PUT_LITERAL(t, ",\"type\":") < 0) return FAILED;
    if ((r = put_string(t, f[3])) != PUT) return r;
    return PUT_LITERAL(t, "}") < 0 ? FAILED : PUT;
}

/* Whether SHA-256 of the text is the stored hex digest (lowercase, as hexdigest() gives). */
static int
digest_matches(EVP_MD_CTX *ctx, const Text *t, PyObject *digest)
{
    static const char hex[] = "0123456789abcdef";
    if (!PyUnicode_CheckExact(digest) || !PyUnicode_IS_ASCII(digest)
        || PyUnicode_GET_LENGTH(digest) != 2 * SHA256_DIGEST_LENGTH) {
        return 0;
    }
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (!EVP_DigestInit_ex(ctx, sha256, NULL) || !EVP_DigestUpdate(ctx, t->data, (size_t)t->len)
        || !EVP_DigestFinal_ex(ctx, d, &size) || size != SHA256_DIGEST_LENGTH) {
        PyErr_SetString(PyExc_RuntimeError, "OpenSSL could not compute SHA-256");
        return -1;
    }
    const char *stored = (const char *)PyUnicode_1BYTE_DATA(digest);
    for (unsigned int i = 0; i < size; i++) {
        if (stored[2 * i] != hex[d[i] >> 4] || stored[2 * i + 1] != hex[d[i] & 15]) {
            return 0;
        }
    }
    return 1;
}

/* Whether the row plainly holds (1), does not or is not for this pass (0), or an error. */
static int
holds(Text *t, PyObject *row, long long count, PyObject *previous, PyObject *heads,
      long long committed, EVP_MD_CTX *ctx)
{
    if (!PyTuple_CheckExact(row) || PyTuple_GET_SIZE(row) != 10) {
        return 0;
    }
    PyObject *const *f = &PyTuple_GET_ITEM(row, 0);
    long long seq;
    int r = put_linked(t, previous, f, &seq);
    if (r != PUT) {
        return r == FAILED ? -1 : 0;
    }
    if (seq != count + 1 || seq > committed) {
        return 0;
    }
    PyObject *digest = f[9];
    int same = digest_matches(ctx, t, digest);
    if (same <= 0) {
        return same;
    }
    PyObject *head = PyDict_GetItemWithError(heads, f[0]); /* borrowed */
    if (head == NULL) {
        return PyErr_Occurred() ? -1 : 1;
    }
    return PyObject_RichCompareBool(head, digest, Py_EQ);
}

static PyObject *
skip_holding(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "skip_holding(rows, count, previous, heads, committed)");
        return NULL;
    }
    PyObject *rows = args[0], *previous = args[2], *heads = args[3];
    if (!PyIter_Check(rows) || !PyDict_Check(heads)) {
        PyErr_SetString(PyExc_TypeError, "rows must be an iterator and heads a dict");
        return NULL;
    }
    long long count = PyLong_AsLongLong(args[1]);
    if (count == -1 && PyErr_Occurred()) return NULL;
    long long committed = PyLong_AsLongLong(args[4]);
    if (committed == -1 && PyErr_Occurred()) return NULL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL) return PyErr_NoMemory();

    Text t = {NULL, 0, 0};
    PyObject *row, *out = NULL;
    Py_INCREF(previous);
    while ((row = PyIter_Next(rows)) != NULL) {
        int held = holds(&t, row, count, previous, heads, committed, ctx);
        if (held <= 0) {
            out = held < 0 ? NULL : Py_BuildValue("(LOO)", count, previous, row);
            Py_DECREF(row);
            goto done;
        }
        count += 1;
        Py_SETREF(previous, Py_NewRef(PyTuple_GET_ITEM(row, 9)));
        Py_DECREF(row);
    }
    if (!PyErr_Occurred()) {
        out = Py_BuildValue("(LOO)", count, previous, Py_None);
    }
done:
    Py_DECREF(previous);
    PyMem_Free(t.data);
    EVP_MD_CTX_free(ctx);
    return out;
}

static PyMethodDef methods[] = {
    {"skip_holding", (PyCFunction)(void (*)(void))skip_holding, METH_FASTCALL,
     "skip_holding(rows, count, previous, heads, committed) -> (count, previous, row)\n"
     "\n"
     "Read rows while each plainly holds; return the seq and hash reached and the first\n"
     "row that does not plainly hold (None at the end)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "prematch.engine._chain_accel",
    .m_doc = "The quick pass of verify, compiled (see prematch.engine._chain).",
    .m_size = 0,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__chain_accel(void)
{
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    /* An explicit fetch: EVP_sha256() would make OpenSSL 3 look it up on every init. */
    sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
#else
    sha256 = EVP_sha256();
#endif
    if (sha256 == NULL) {
        PyErr_SetString(PyExc_ImportError, "OpenSSL has no SHA-256 here");
        return NULL;
    }
    return PyModule_Create(&module);
}
