/*
 * hook.c: the --script hook, LuaJIT in the model of wrk's scripts, for what
 * learned correlation and --extract/--inject rules cannot express. Each
 * engine has its own lua_State (Lua states are single-threaded). The
 * script defines request(req, state) and/or response(res, state): req is a
 * table {method, target, headers, body} that request may change and return
 * (nil keeps it); res is {status, headers, body}; state is a table of the
 * session (captured session, copy, loop), kept in the registry for the
 * run. A script error ends nothing: the request goes as it was, the first
 * message is printed once per engine.
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/values.h"
#include "replay/replay_int.h"

struct rp_hook {
    lua_State *L;
    int has_req, has_resp;
    int warned;                /* a script error was printed */
};

int replay_hook_new(const char *file, struct rp_hook **out, char *err)
{
    struct rp_hook *h = calloc(1, sizeof *h);
    *out = NULL;
    if (!h || !(h->L = luaL_newstate())) {
        free(h);
        return rp_fail(err, RP_ENOMEM, "out of memory starting LuaJIT");
    }
    luaL_openlibs(h->L);
    if (luaL_loadfile(h->L, file) || lua_pcall(h->L, 0, 0, 0)) {
        rp_fail(err, RP_EUSAGE, "--script %s: %s", file,
                lua_tostring(h->L, -1));
        replay_hook_free(h);
        return RP_EUSAGE;
    }
    lua_getglobal(h->L, "request");
    h->has_req = lua_isfunction(h->L, -1);
    lua_getglobal(h->L, "response");
    h->has_resp = lua_isfunction(h->L, -1);
    lua_pop(h->L, 2);
    if (!h->has_req && !h->has_resp) {
        replay_hook_free(h);
        return rp_fail(err, RP_EUSAGE, "--script %s defines neither "
                       "request(req, state) nor response(res, state)", file);
    }
    *out = h;
    return 0;
}

void replay_hook_free(struct rp_hook *h)
{
    if (!h)
        return;
    if (h->L)
        lua_close(h->L);
    free(h);
}

int replay_hook_has_request(const struct rp_hook *h)
{
    return h && h->has_req;
}

int replay_hook_has_response(const struct rp_hook *h)
{
    return h && h->has_resp;
}

static void push_state(lua_State *L, int *ref)
{
    if (!*ref) {
        lua_newtable(L);
        *ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, *ref);
}

static void field(lua_State *L, const char *k, const char *v, size_t n)
{
    lua_pushlstring(L, v ? v : "", v ? n : 0);
    lua_setfield(L, -2, k);
}

static void script_failed(struct rp_hook *h, const char *fn)
{
    if (!h->warned++)
        rp_warn("--script: %s failed: %s (further errors are not shown)", fn,
                lua_tostring(h->L, -1));
    lua_pop(h->L, 1);
}

/* Replaces b with the string field k of the table on top, if any; sets
 * *changed when it differs. 0 or RP_ENOMEM. */
static int take(lua_State *L, const char *k, struct rp_buf *b, int *changed)
{
    lua_getfield(L, -1, k);
    size_t n = 0;
    const char *v = lua_isstring(L, -1) ? lua_tolstring(L, -1, &n) : NULL;
    int rc = 0;
    if (v && (n != b->len || (n && memcmp(v, b->data, n)))) {
        b->len = 0;
        rc = rp_buf_append(b, v, n) < 0 ? RP_ENOMEM : 0;
        *changed = 1;
    }
    lua_pop(L, 1);
    return rc;
}

int replay_hook_request(struct rp_hook *h, int *state_ref,
                        struct rp_buf *method, struct proto_req_edit *ed,
                        int *changed)
{
    lua_State *L = h->L;
    *changed = 0;
    if (!h->has_req)
        return 0;
    lua_getglobal(L, "request");
    lua_createtable(L, 0, 4);
    field(L, "method", method->data, method->len);
    field(L, "target", ed->target.data, ed->target.len);
    field(L, "headers", ed->hdrs.data, ed->hdrs.len);
    field(L, "body", ed->body.data, ed->body.len);
    push_state(L, state_ref);
    if (lua_pcall(L, 2, 1, 0)) {
        script_failed(h, "request");
        return -1;
    }
    int rc = 0;
    if (lua_istable(L, -1)) {
        rc = take(L, "method", method, changed);
        if (!rc)
            rc = take(L, "target", &ed->target, changed);
        if (!rc)
            rc = take(L, "headers", &ed->hdrs, changed);
        if (!rc)
            rc = take(L, "body", &ed->body, changed);
    }
    lua_pop(L, 1);
    return rc;
}

void replay_hook_response(struct rp_hook *h, int *state_ref, int status,
                          const char *hdrs, size_t hlen, const uint8_t *body,
                          size_t blen)
{
    lua_State *L = h->L;
    if (!h->has_resp)
        return;
    lua_getglobal(L, "response");
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, status);
    lua_setfield(L, -2, "status");
    field(L, "headers", hdrs, hlen);
    field(L, "body", (const char *)body, blen);
    push_state(L, state_ref);
    if (lua_pcall(L, 2, 0, 0))
        script_failed(h, "response");
}
