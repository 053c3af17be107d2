#!/usr/bin/env python3
# Side-by-side cost of today's queue scripts (EVALSHA, the repository's src/Grains/Queue/Scripts) and the run-based prototype (qrun.lua,
# FUNCTION LOAD + FCALL) on an idle redis-server: Redis CPU (INFO cpu) and, with --cg-pid, instructions (callgrind)
# per item and per phase. Raw RESP over one socket, every call waiting for its reply (as qbench-luacost.py does).
import argparse, json, os, socket, subprocess, sys, time, glob, csv

ap = argparse.ArgumentParser()
ap.add_argument('--port', type=int, required=True)
ap.add_argument('--repo', default=os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..')))
ap.add_argument('--n', type=int, default=20000)
ap.add_argument('--configs', default='today:5/12,today:16/16,today:64/64,proto:16/16,proto:64/64')
ap.add_argument('--repeat', type=int, default=1)
ap.add_argument('--cg-pid', type=int, default=0, help='redis-server runs under callgrind with this pid: count instructions per phase')
ap.add_argument('--cg-out', default='', help='callgrind --callgrind-out-file of that server')
ap.add_argument('--check', action='store_true', help='run the prototype semantics checks and exit')
ap.add_argument('--fail-every', type=int, default=0, help='proto: every Nth item fails its first attempt (a retry)')
ap.add_argument('--dead-every', type=int, default=0, help='proto: every Nth item always fails (dead-lettered at attempt 3)')
A = ap.parse_args()
HERE = os.path.dirname(os.path.abspath(__file__))

s = socket.create_connection(('127.0.0.1', A.port)); fr = s.makefile('rb')
def enc(*a):
    out = [b'*%d\r\n' % len(a)]
    for x in a:
        x = x if isinstance(x, bytes) else str(x).encode()
        out.append(b'$%d\r\n%s\r\n' % (len(x), x))
    return b''.join(out)
def rd():
    l = fr.readline(); t = l[:1]; v = l[1:-2]
    if t == b'*': return [rd() for _ in range(int(v))] if int(v) >= 0 else None
    if t == b'$':
        n = int(v)
        if n < 0: return None
        d = fr.read(n + 2); return d[:-2]
    if t == b':': return int(v)
    if t == b'-': raise Exception(v.decode())
    return v
def cmd(*a): s.sendall(enc(*a)); return rd()
def pipe(cmds):
    s.sendall(b''.join(enc(*c) for c in cmds)); return [rd() for _ in cmds]

# A real item: the first row of worldcities.csv as the cities benchmark's item JSON, in the batch store's envelope
# (with a traceparent), padded to ~700 bytes as the envelopes are.
row = next(csv.DictReader(open(A.repo + '/data/worldcities.csv', encoding='utf-8')))
def envelope(b, i):
    head = '{"olm":{"b":"%s","tp":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01","id":"c%d"},"item":' % (b, i)
    item = dict(row); item['notes'] = ''
    body = json.dumps(item, ensure_ascii=False, separators=(',', ':'))
    pad = 700 - len((head + body + '}').encode())
    item['notes'] = 'n' * max(pad, 0)
    return head + json.dumps(item, ensure_ascii=False, separators=(',', ':')) + '}'
DOC = json.dumps({"id": "x", "response": "R" * 300, "model": "qwen2:1.5b", "done": True, "pad": "q" * 200})

SYS = [0.0]
def cpu():
    d = dict(l.split(':') for l in cmd('INFO', 'cpu').decode().split('\r\n') if ':' in l)
    SYS[0] = float(d['used_cpu_sys'])
    return float(d['used_cpu_user']) + float(d['used_cpu_sys'])
def stats():
    st = {}
    for line in cmd('INFO', 'commandstats').decode().split('\r\n'):
        if line.startswith('cmdstat_'):
            k, v = line.split(':'); d = dict(x.split('=') for x in v.split(','))
            st[k[8:]] = (int(d['calls']), int(d['usec']))
    return st
def cg_dump():
    subprocess.run(['callgrind_control', '-d', str(A.cg_pid)], check=True, stdout=subprocess.DEVNULL)
    files = [f for f in glob.glob(A.cg_out + '*') if f != A.cg_out]
    f = max(files, key=os.path.getmtime)
    for line in open(f):
        if line.startswith('totals:') or line.startswith('summary:'): return int(line.split()[1])
    return 0
def phase(name, fn, n, out):
    if A.cg_pid: cg_dump()  # zeroes the counters
    cmd('CONFIG', 'RESETSTAT'); c0 = cpu(); s0 = SYS[0]; t0 = time.perf_counter(); r = fn(); t1 = time.perf_counter(); c1 = cpu(); s1 = SYS[0]
    st = stats()
    ir = cg_dump() if A.cg_pid else 0
    calls = sum(c for k, (c, u) in st.items() if k not in ('config|resetstat', 'info'))
    us = (c1 - c0) * 1e6 / n
    out[name] = (us, ir / n)
    print(f"  {name:9} {n} items: redis CPU {us:6.2f} us/item (sys {(s1 - s0) * 1e6 / n:5.2f})" + (f", {ir / n / 1000:7.1f}k instr/item" if A.cg_pid else '')
          + f", {calls / n:5.3f} commands/item, wall {(t1 - t0) * 1e6 / n:6.1f} us/item", flush=True)
    if os.environ.get('DETAIL'):
        top = sorted(((u, k, c) for k, (c, u) in st.items() if k not in ('config|resetstat', 'info')), reverse=True)[:8]
        print('            commandstats us/item: ' + ', '.join(f"{k} {u / n:.2f} ({c} calls)" for u, k, c in top))
    return r

# ---------------------------------------------------------------- today's scripts (as qbench-luacost.py runs them)
S = A.repo + '/src/Grains/Queue/Scripts/'
inc = ['include/common.lua', 'include/ending.lua', 'include/scheduling.lua', 'include/settling.lua']
def compose(f): return ''.join(open(S + p).read().replace('\r\n', '\n').rstrip('\n') + '\n' for p in inc + [f])
def today(lease_n, group, N):
    cmd('FLUSHALL'); cmd('SCRIPT', 'FLUSH'); cmd('FUNCTION', 'FLUSH')
    sha = {f: cmd('SCRIPT', 'LOAD', compose(f)).decode() for f in ['batch/create.lua', 'batch/enqueue.lua', 'lease/lease.lua', 'settle/complete.lua']}
    common = ['5', '4096', '100000', '604800000', '120000', '']
    def ev(f, *args): return cmd('EVALSHA', sha[f], 1, 'cities', *common, *args)
    ev('batch/create.lua', 'b1', int(time.time() * 1000), 'spec', '{}', 'priority', 'normal', 'route', '', 'window', '')
    out = {}
    def enqueue():
        for p in range(0, N, 100):
            args = []
            for i in range(p, min(p + 100, N)): args += ['c%d' % i, envelope('b1', i)]
            ev('batch/enqueue.lua', 'b1', *args)
    phase('enqueue', enqueue, N, out)
    leases = []
    def lease():
        while len(leases) < N:
            r = ev('lease/lease.lua', lease_n, 120000, 's1', 0)
            for j in range(1, len(r), 4): leases.append((r[j], r[j + 1]))
            if len(r) <= 1: break
    phase('lease', lease, N, out)
    assert len(leases) == N
    def complete():
        for g in range(0, len(leases), group):
            args = []
            for (tok, v) in leases[g:g + group]:
                i = json.loads(v)['olm']['id']
                args += [tok, 's1', i, DOC, v, 10, 20, 5]
            r = ev('settle/complete.lua', *args)
            assert all(x == b'done' for x in r), r[:3]
    phase('complete', complete, N, out)
    h = pairs(cmd('HGETALL', 'cities:batch:b1'))
    assert h[b'done'] == str(N).encode() and cmd('HLEN', 'cities:results:b1') == N, h
    return out

# ---------------------------------------------------------------- the prototype
def pairs(l): return dict(zip(l[::2], l[1::2]))
Q = 'cities'
def proto_setup():
    cmd('FLUSHALL'); cmd('SCRIPT', 'FLUSH'); cmd('FUNCTION', 'FLUSH')
    cmd('FUNCTION', 'LOAD', 'REPLACE', open(HERE + '/qrun.lua').read())
    cmd('HSET', Q + ':b:b1', 'class', 'normal', 'created', int(time.time() * 1000), 'sealed', '1')
def fc(name, *args): return cmd('FCALL', name, 1, Q, *args)
def proto_enqueue(N, b='b1', page=100, start=0):
    for p in range(start, start + N, page):
        ids = ['c%d' % i for i in range(p, min(p + page, start + N))]
        first, mask = fc('q_reserve', b, *ids)
        hset, n = [], first
        for j, m in enumerate(mask.decode()):
            if m == '1':
                hset += [n, envelope(b, int(ids[j][1:]))]; n += 1
        if n > first:
            r = pipe([('HSET', Q + ':env:' + b, *hset), ('FCALL', 'q_ready', 1, Q, b, n - 1)])
def proto_lease(R, owner='s1', lease_ms=120000):
    r = fc('q_lease', R, lease_ms, owner)
    if not r: return None
    tok, b = r[0], r[1].decode()
    if isinstance(r[2], int): nums = list(range(r[2], r[3] + 1))
    else: nums = [int(x) for x in r[2].split(b',')]
    return tok, b, nums
def proto_read(run):  # the worker's plain HMGET of its run's envelopes
    tok, b, nums = run
    return cmd('HMGET', Q + ':env:' + b, *nums)
PIPE = False  # proto config 'protopipe': the worker pipelines a run's complete with its next lease
EXPIRE = False  # proto config 'protoexpire': every run's lease expires, is swept, and its items are leased again
PLAIN = False  # proto config 'protoplain': the worker writes its answers with a plain HSET, pipelined before the call
def proto_complete(run, done, failed, owner='s1', retry_ms=0, max_att=3):
    tok, b, nums = run
    args = [tok, owner, 10 * len(done), 20 * len(done), 5 * len(done), retry_ms, max_att, len(done)]
    for n in done: args += [n, '' if PLAIN else DOC]
    for n in failed: args += [n, 'backend said no']
    if PLAIN and done:
        hset = []
        for n in done: hset += [n, DOC]
        return pipe([('HSET', Q + ':res:' + b, *hset), ('FCALL', 'q_complete', 1, Q, *args)])[1]
    return fc('q_complete', *args)
def proto(R, G, N):
    proto_setup(); out = {}
    phase('enqueue', lambda: proto_enqueue(N), N, out)
    if PIPE:
        # The worker settles a run and asks for its next in one write (a pipeline): two round trips a run, not three.
        def work():
            run = proto_lease(R)
            while run:
                assert all(proto_read(run))
                tok, b, nums = run
                args = [tok, 's1', 10 * len(nums), 20 * len(nums), 5 * len(nums), 0, 3, len(nums)]
                for n in nums: args += [n, DOC]
                m, r = pipe([('FCALL', 'q_complete', 1, Q, *args), ('FCALL', 'q_lease', 1, Q, R, 120000, 's1')])
                assert m == b'd' * len(nums), m
                run = None
                if r:
                    run = (r[0], r[1].decode(), list(range(r[2], r[3] + 1)) if isinstance(r[2], int) else [int(x) for x in r[2].split(b',')])
        phase('work', work, N, out)
    elif EXPIRE:
        runs = []
        def lease():
            while True:
                r = proto_lease(R, lease_ms=1)
                if not r: break
                runs.append(r)
        phase('lease', lease, N, out)
        time.sleep(0.01)
        def sweep():
            while fc('q_sweep', 10, 5)[0] == 10: pass
        phase('sweep', sweep, N, out)
        assert cmd('ZCARD', Q + ':retry') == N
        def work():
            while True:
                run = proto_lease(R)
                if not run: break
                assert all(proto_read(run))
                for g in range(0, len(run[2]), G): proto_complete(run, run[2][g:g + G], [])
        phase('again', work, N, out)
    elif A.fail_every or A.dead_every:
        tries = {}
        def work():
            while True:
                run = proto_lease(R)
                if not run: break
                envs = proto_read(run); assert all(envs)
                for g in range(0, len(run[2]), G):
                    part = run[2][g:g + G]; done, failed = [], []
                    for n in part:
                        tries[n] = tries.get(n, 0) + 1
                        bad = (A.dead_every and n % A.dead_every == 0) or (A.fail_every and n % A.fail_every == 0 and tries[n] == 1)
                        (failed if bad else done).append(n)
                    proto_complete(run, done, failed)
        phase('work', work, N, out)
    else:
        runs = []
        def lease():
            while True:
                r = proto_lease(R)
                if not r: break
                runs.append(r)
        phase('lease', lease, N, out)
        assert sum(len(r[2]) for r in runs) == N
        def read():
            for r in runs: assert all(proto_read(r))
        phase('hmget', read, N, out)
        def complete():
            for r in runs:
                for g in range(0, len(r[2]), G):
                    m = proto_complete(r, r[2][g:g + G], [])
                    assert b'.' not in m if g + G >= len(r[2]) else True, m
        phase('complete', complete, N, out)
    h = pairs(cmd('HGETALL', Q + ':b:b1'))
    dead = cmd('LLEN', Q + ':dead:b1')
    assert int(h[b'done']) + int(h.get(b'dead', b'0')) == N and int(h[b'open']) == 0 and int(h[b'inflight']) == 0, h
    assert cmd('HLEN', Q + ':res:b1') == int(h[b'done']) and dead == int(h.get(b'dead', b'0')) and cmd('HLEN', Q + ':runs') == 0
    assert cmd('HLEN', Q + ':env:b1') == dead and cmd('EXISTS', Q + ':att:b1') == 0
    return out

def floor(R, G, N):
    """No queue at all: only the bytes moved (envelopes in by plain HSET, read back by HMGET, answers in by HSET),
    the least any layout that keeps envelopes and results in Redis hashes pays."""
    cmd('FLUSHALL'); cmd('SCRIPT', 'FLUSH'); cmd('FUNCTION', 'FLUSH'); out = {}
    def enqueue():
        for p in range(0, N, 100):
            hset = []
            for i in range(p, min(p + 100, N)): hset += [i + 1, envelope('b1', i)]
            cmd('HSET', Q + ':env:b1', *hset)
    phase('enqueue', enqueue, N, out)
    def read():
        for lo in range(1, N + 1, R): assert all(cmd('HMGET', Q + ':env:b1', *range(lo, min(lo + R, N + 1))))
    phase('hmget', read, N, out)
    def complete():
        for lo in range(1, N + 1, G):
            hset = []
            for n in range(lo, min(lo + G, N + 1)): hset += [n, DOC]
            cmd('HSET', Q + ':res:b1', *hset); cmd('HDEL', Q + ':env:b1', *range(lo, min(lo + G, N + 1)))
    phase('complete', complete, N, out)
    return out

def ping(R, G, N):
    """What one round trip costs Redis here, whatever it carries: N PINGs, each waiting for its reply."""
    out = {}
    def go():
        for _ in range(N): cmd('PING')
    phase('ping', go, N, out)
    return out

def check():
    """The semantics the comparison leans on, on the real functions."""
    proto_setup()
    cmd('HSET', Q + ':b:b2', 'class', 'normal', 'sealed', '1')
    cmd('HSET', Q + ':b:hb', 'class', 'high', 'sealed', '1')
    proto_enqueue(40, 'b1'); proto_enqueue(40, 'b2', start=1000)
    proto_enqueue(20, 'b1', start=0)  # the same ids again: nothing new
    assert cmd('HLEN', Q + ':items:b1') == 40 and cmd('HGET', Q + ':b:b1', 'open') == b'40'
    # fair turns: b1 and b2 alternate by run; a high batch goes first
    r1 = proto_lease(16); r2 = proto_lease(16); r3 = proto_lease(16)
    assert (r1[1], r2[1], r3[1]) == ('b1', 'b2', 'b1') and r1[2] == list(range(1, 17)) and r3[2] == list(range(17, 33)), (r1, r2, r3)
    proto_enqueue(3, 'hb', start=5000)
    rh = proto_lease(16); assert rh[1] == 'hb' and rh[2] == [1, 2, 3]
    assert all(proto_read(rh)) and json.loads(proto_read(rh)[0])['olm']['id'] == 'c5000'
    # per-item outcomes in a run: part now, the rest later; one fails (retry), a settle sent again changes nothing
    m = proto_complete(r1, [1, 2, 3], [4]); assert m == b'dddr' + b'.' * 12, m
    m = proto_complete(r1, [1, 2], [4]); assert m == b'dddr' + b'.' * 12, m
    m = proto_complete(r1, list(range(5, 17)), []); assert m == b'dddr' + b'd' * 12, m
    assert proto_complete(r1, [5], []) == b'dddr' + b'd' * 12  # run ended: its outcome is remembered
    assert cmd('HGET', Q + ':res:b1', 7) == DOC.encode() and cmd('HGET', Q + ':items:b1', 'c6') == b'7'
    # the retry comes first, as a run of its own, with its attempts
    rr = fc('q_lease', 16, 120000, 's2'); assert rr[1] == b'b1' and rr[2] == b'4' and rr[3] == b'1', rr
    run4 = (rr[0], 'b1', [4])
    # fencing: a run's lease expires and is swept (its open items spend an attempt and wait as retries, due now); the
    # old owner's settle is refused, a new owner leases them again
    r4 = proto_lease(16, owner='s3', lease_ms=1); assert r4[1] == 'b2' and r4[2] == list(range(17, 33)), r4
    time.sleep(0.02)
    assert fc('q_sweep', 10, 5) == [1, 16]
    assert proto_complete(r4, [17], [], owner='s3') == b'lost'
    assert proto_complete(run4, [4], [], owner='s3') == b'lost'  # not its owner
    r5 = fc('q_lease', 16, 120000, 's4'); assert r5[1] == b'b2' and r5[2] == b','.join(b'%d' % n for n in range(17, 33)) and r5[3] == b','.join([b'1'] * 16), r5
    assert proto_complete((r5[0], 'b2', list(range(17, 33))), list(range(17, 33)), [], owner='s4') == b'd' * 16
    assert proto_complete(run4, [4], [], owner='s2') == b'd'
    # dead letter after 3 attempts, with its reason and envelope; the rest of its run done
    assert proto_complete(r3, list(range(18, 33)), [17]) == b'r' + b'd' * 15
    for a in (1, 2):
        rr = fc('q_lease', 16, 120000, 's1'); assert rr[2] == b'17' and rr[3] == b'%d' % a, rr
        assert proto_complete((rr[0], 'b1', [17]), [], [17]) == (b'r' if a == 1 else b'x')
    d = json.loads(cmd('LRANGE', Q + ':dead:b1', 0, -1)[0])
    assert d['reason'] == 'failed 3 attempts' and d['error'] == 'backend said no' and json.loads(d['item'])['olm']['id'] == 'c16', d
    # the rest, then exact counters
    assert proto_complete(r2, r2[2], []) == b'd' * 16 and proto_complete(rh, rh[2], []) == b'ddd'
    while True:
        r = proto_lease(64)
        if not r: break
        assert proto_complete(r, r[2], []) == b'd' * len(r[2])
    b1, b2 = pairs(cmd('HGETALL', Q + ':b:b1')), pairs(cmd('HGETALL', Q + ':b:b2'))
    assert (b1[b'done'], b1[b'dead'], b1[b'failed'], b1[b'open'], b1[b'inflight']) == (b'39', b'1', b'3', b'0', b'0'), b1
    assert (b2[b'done'], b2[b'failed'], b2[b'open'], b2[b'inflight']) == (b'40', b'16', b'0', b'0'), b2
    assert cmd('HLEN', Q + ':res:b1') == 39 and cmd('HLEN', Q + ':env:b1') == 1 and cmd('HLEN', Q + ':runs') == 0
    assert cmd('ZCARD', Q + ':deadlines') == 0 and cmd('ZCARD', Q + ':retry') == 0 and b'ended' in b1
    assert cmd('EXISTS', Q + ':att:b1') == 0 and cmd('EXISTS', Q + ':att:b2') == 0
    print('check: ok')
    raise SystemExit(0)

if A.check:
    check()

results = {}
N = A.n
for rep in range(A.repeat):
    for c in A.configs.split(','):
        kind, shape = c.split(':'); a, g = (int(x) for x in shape.split('/'))
        print(f"{kind} {a}/{g} (run {rep + 1})", flush=True)
        PLAIN, EXPIRE, PIPE = kind == 'protoplain', kind == 'protoexpire', kind == 'protopipe'
        out = today(a, g, N) if kind == 'today' else floor(a, g, N) if kind == 'floor' else ping(a, g, N) if kind == 'ping' else proto(a, g, N)
        tot = sum(v[0] for v in out.values()); ir = sum(v[1] for v in out.values())
        print(f"  TOTAL     redis CPU {tot:6.2f} us/item" + (f", {ir / 1000:7.1f}k instr/item" if A.cg_pid else ''), flush=True)
        results.setdefault(c, []).append((tot, ir, out))
print('\nsummary (redis CPU us/item per run; instr/item):')
for c, rs in results.items():
    print(f"  {c:14} " + ' · '.join(f"{t:5.1f}" for t, _, _ in rs) + (f"   {rs[0][1] / 1000:6.1f}k instr" if A.cg_pid else '')
          + '   phases: ' + ', '.join(f"{k} {sum(r[2][k][0] for r in rs) / len(rs):.1f}" for k in rs[0][2]))
