using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using OrleansLlm.Batches;
using OrleansLlm.Options;
using OrleansLlm.Queue;
using OrleansLlm.Redis;
using StackExchange.Redis;
using MsOptions = Microsoft.Extensions.Options.Options;

namespace OrleansLlm.QueueModel;

/// <summary>
/// One run: the real queue (its scripts on a real redis-server, read through <see cref="RedisLeaseQueue"/>,
/// <see cref="RedisQueueItems"/> and <see cref="RedisBatchStore"/>, on a clock the run moves) beside a small
/// reference model of the item state machine in docs/architecture.md. Each step is applied to both; what the real
/// queue answers is held to what the model expects, and after every step the whole of Redis is read back and held to
/// the model and the invariants.
/// </summary>
/// <remarks>
/// Where the queue may choose (which ready item a lease takes, which items it parks or removes on the way), the model
/// checks that the choice is one the rules allow, then follows it.
/// </remarks>
public sealed partial class World : IAsyncDisposable
{
    public const int Silos = 3;
    public const int MaxAttempts = 3;
    private const long DayMs = 86_400_000;

    public static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan ResultTtl = TimeSpan.FromSeconds(60);
    public static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(2);

    /// <summary>The run's batches: each class, a model one silo serves, a model none serves at first, and a deadline.</summary>
    public static readonly BatchSpecOf[] Specs =
    [
        new("b0", BatchPriority.Normal, null, null),
        new("b1", BatchPriority.High, "m-a:1b", null),
        new("b2", BatchPriority.Low, "m-b:1b", null),
        new("b3", BatchPriority.Normal, null, TimeSpan.FromSeconds(30)),
    ];

    public static readonly string[] Models = ["m-a:1b", "m-b:1b"];

    private static readonly TokenUsage Usage = new(10, 2, TimeSpan.FromMilliseconds(5));

    private readonly FakeTimeProvider _time;
    private readonly RedisConnection _connection;
    private readonly RedisLeaseQueue _queue;
    private readonly RedisQueueItems _items;
    private readonly RedisBatchStore _store;
    private readonly QueueKeys _keys;
    private readonly MSilo[] _silos = [new("s0"), new("s1"), new("s2")];
    private readonly Dictionary<string, MBatch> _batches = new(StringComparer.Ordinal);
    private readonly HashSet<string> _gone = new(StringComparer.Ordinal);
    private readonly Dictionary<string, MRaw> _raw = new(StringComparer.Ordinal);
    private readonly Dictionary<(long Day, string Id), (string Result, string Payload)> _rawResults = [];
    private readonly List<(string Payload, int Attempts)> _rawDead = [];
    private readonly Dictionary<string, (string Outcome, long Period)> _settled = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _servedUntil = new(StringComparer.Ordinal);
    private readonly HashSet<string> _tokens = new(StringComparer.Ordinal);
    private long _itemSeq;
    private long _rawDone;
    private long _rawDuplicates;
    private long _rawLate;
    private long _lateAll;
    private long _recovered;
    private long _fenced;
    private long _rawPrompt;
    private long _rawCompletion;
    private long _rawMs;
    private int _step;

    private World(FakeTimeProvider time, RedisConnection connection, QueueOptions options)
    {
        _time = time;
        _connection = connection;
        var clock = QueueClock.From(time);
        _queue = new RedisLeaseQueue(connection, MsOptions.Create(options), clock);
        _items = new RedisQueueItems(connection, MsOptions.Create(options), clock, time);
        _store = new RedisBatchStore(connection, _items, MsOptions.Create(options), clock, time);
        _keys = new QueueKeys(options.Name);
        _silos[1].Served.Add(Models[0]);
    }

    /// <summary>What happened so far, one line a step: printed with a failure.</summary>
    public List<string> Trace { get; } = [];

    private IDatabase Db => _connection.Database;

    private long Now => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private long Period => Now / (long)(LeaseDuration * 2).TotalMilliseconds;

    private long Today => Now / DayMs;

    public static async Task<World> StartAsync(string connectionString)
    {
        var options = new QueueOptions
        {
            Name = "model-" + Guid.NewGuid().ToString("N")[..10],
            MaxAttempts = MaxAttempts,
            LeaseDuration = LeaseDuration,
            ResultTtl = ResultTtl,
        };
        var connection = new RedisConnection(
            MsOptions.Create(new RedisOptions { ConnectionString = connectionString, ClientName = "queue-model" }), TimeProvider.System, NullLogger<RedisConnection>.Instance);
        await connection.ConnectAsync();
        // A minute into tomorrow (UTC): what the scripts set to expire, on Redis' own clock, stays in the future however
        // far a run moves time, and no run reaches the end of that day, when raw results would roll over and expire.
        var time = new FakeTimeProvider(new DateTimeOffset(DateTime.UtcNow.Date.AddDays(1).AddMinutes(1), TimeSpan.Zero));
        return new World(time, connection, options);
    }

    public async ValueTask DisposeAsync()
    {
        // Leaves nothing behind on the shared redis-server.
        var server = _connection.Multiplexer.GetServers().Single();
        await foreach (var key in server.KeysAsync(pattern: _keys.Name + "*"))
        {
            await Db.KeyDeleteAsync(key);
        }

        await _connection.DisposeAsync();
    }

    public async Task StepAsync(Op op)
    {
        _step++;
        Trace.Add($"{_step,3}. {op}");
        switch (op)
        {
            case Op.Submit s: await SubmitAsync(s); break;
            case Op.Seal s: await SealAsync(s.Batch); break;
            case Op.PushRaw p: await PushRawAsync(p); break;
            case Op.Lease l: await LeaseAsync(_silos[l.Silo], l.Max); break;
            case Op.Renew r: await RenewAsync(_silos[r.Silo]); break;
            case Op.Complete c: await AnswerAsync(_silos[c.Silo], c.Pick); break;
            case Op.CompleteGroup g: await AnswerGroupAsync(g); break;
            case Op.Fail f: await FailAsync(_silos[f.Silo], f.Pick, f.Backend, f.Delayed); break;
            case Op.DeadLetter d: await MalformedAsync(_silos[d.Silo], d.Pick); break;
            case Op.Resend r when _silos[r.Silo].LastSettle is { } last: await SettleAsync(_silos[r.Silo], last); break;
            case Op.Resend: break;
            case Op.Release r: await ReleaseAsync(_silos[r.Silo]); break;
            case Op.Sweep: await SweepAsync(); break;
            case Op.Recover r: await RecoverAsync(_silos[r.Silo]); break;
            case Op.Advance a: _time.Advance(TimeSpan.FromSeconds(a.Seconds)); break;
            case Op.Cancel c: await CancelAsync(c.Batch); break;
            case Op.Retry r: await RetryAsync(r.Batch); break;
            case Op.Expire: await ExpireAsync(); break;
            case Op.Delete d: await DeleteAsync(d.Batch); break;
            case Op.Purge: await PurgeAsync(); break;
            case Op.Serve s: Serve(_silos[s.Silo], s.Model, s.On); break;
            default: throw new InvalidOperationException($"unknown step {op}");
        }

        await CheckAsync();
    }

    private ModelViolation Violation(string what) => new($"step {_step}: {what}");

    private static void Expect<T>(T expected, T actual, string what, World world)
    {
        if (!EqualityComparer<T>.Default.Equals(expected, actual))
        {
            throw world.Violation($"{what}: expected {expected}, got {actual}");
        }
    }

    // ---- producers and operators ----

    private async Task SubmitAsync(Op.Submit op)
    {
        var spec = Specs[op.Batch];
        var batch = await EnsureBatchAsync(spec);
        var items = op.Ids.Select(i => new BatchItem($"i{i}", $"{{\"city\":\"C{i}\"}}")).ToArray();
        if (batch.Stopped is { } stopped)
        {
            try
            {
                await _items.EnqueueAsync(batch.Id, items, CancellationToken.None);
            }
            catch (RedisServerException ex) when (ex.Message.Contains($"is {stopped}; it takes no more items", StringComparison.Ordinal))
            {
                Trace.Add($"     refused: {stopped}");
                return;
            }

            throw Violation($"a {stopped} batch took items");
        }

        var added = await _items.EnqueueAsync(batch.Id, items, CancellationToken.None);
        var seq = _itemSeq;
        _itemSeq += items.Length;
        var fresh = new List<MBatchItem>();
        foreach (var item in items)
        {
            if (batch.Items.ContainsKey(item.Id))
            {
                continue;
            }

            var number = (int)(seq + fresh.Count + 1);
            var payload = Envelope.Encode(batch.Id, item.Id, item.Json);
            var cut = Envelope.Prefix.Length + batch.Id.Length + 1;
            var stored = new MBatchItem
            {
                Batch = batch, Id = item.Id, Number = number,
                Payload = payload[..cut] + $",\"n\":{number}" + payload[cut..],
            };
            batch.Items[item.Id] = stored;
            batch.ByNumber.Add(stored);
            fresh.Add(stored);
        }

        Expect(fresh.Count, added, "new items", this);
        if (added > 0)
        {
            (batch.Ended, batch.Expires) = (null, null);
        }

        if (op.AndSeal)
        {
            await SealAsync(op.Batch);
        }
    }

    private async Task<MBatch> EnsureBatchAsync(BatchSpecOf spec)
    {
        var definition = new BatchSpec(null, null, Model: spec.Model, Priority: spec.Priority, CompletionWindow: spec.Window);
        var existing = await _store.CreateAsync(spec.Id, definition, CancellationToken.None);
        if (_batches.TryGetValue(spec.Id, out var batch))
        {
            Expect(definition, existing, "the stored definition", this);
            return batch;
        }

        Expect(null, existing, "a batch the model does not have", this);
        batch = new MBatch { Id = spec.Id, Spec = spec, Created = Now, DeadlinePending = spec.Window is not null };
        _batches[spec.Id] = batch;
        _gone.Remove(spec.Id);
        return batch;
    }

    private async Task SealAsync(int index)
    {
        var id = Specs[index].Id;
        await _store.SealAsync(id, CancellationToken.None);
        if (_batches.TryGetValue(id, out var batch))
        {
            batch.Sealed = true;
            CheckEnd(batch);
        }
    }

    private async Task PushRawAsync(Op.PushRaw op)
    {
        var payload = $"{{\"id\":\"r{op.Id}\",\"v\":{op.Variant}}}";
        await Db.ListRightPushAsync(_keys.Ready, Enumerable.Repeat((RedisValue)payload, op.Copies).ToArray());
        if (!_raw.TryGetValue(payload, out var raw))
        {
            _raw[payload] = raw = new MRaw { Payload = payload, Id = $"r{op.Id}" };
        }

        raw.Copies += op.Copies;
    }

    private async Task CancelAsync(int index)
    {
        // As BatchGrain.CancelAsync: only a batch that exists and has something left to cancel.
        if (!_batches.TryGetValue(Specs[index].Id, out var batch) || batch.Status is BatchStates.Completed or BatchStates.Expired)
        {
            return;
        }

        var expected = Stop(batch, BatchStates.Cancelled);
        var (stopped, removed) = await _store.StopAsync(batch.Id, BatchStates.Cancelled, CancellationToken.None);
        Expect(batch.Stopped, stopped, "the reason in effect", this);
        Expect(expected, removed, "queued items removed by the cancel", this);
    }

    /// <summary>The model's cancel and expiry: the first reason stays, and every queued or parked item is removed.</summary>
    private long Stop(MBatch batch, string why)
    {
        batch.Stopped ??= why;
        var queued = batch.ByNumber.Where(i => i.State is ItemState.Ready or ItemState.Parked).ToArray();
        foreach (var item in queued)
        {
            Remove(item);
        }

        CheckEnd(batch);
        return queued.Length;
    }

    private async Task RetryAsync(int index)
    {
        // As BatchGrain.RetryAsync: not once the batch was cancelled or expired.
        if (!_batches.TryGetValue(Specs[index].Id, out var batch) || batch.Status is BatchStates.Cancelling or BatchStates.Cancelled or BatchStates.Expired)
        {
            return;
        }

        var (retried, tooLarge) = await _items.RetryDeadAsync(batch.Id, CancellationToken.None);
        var expected = 0;
        for (var i = 0; i < batch.Dead.Count; i++)
        {
            if (!batch.Dead[i].Retried)
            {
                batch.Dead[i] = batch.Dead[i] with { Retried = true };
                var item = batch.ByNumber.Single(x => x.Payload == batch.Dead[i].Payload);
                item.Forget();
                item.State = ItemState.Ready;
                expected++;
            }
        }

        if (expected > 0)
        {
            (batch.Ended, batch.Expires) = (null, null);
        }

        Expect((long)expected, retried, "dead letters retried", this);
        Expect(0L, tooLarge, "dead letters too large to retry", this);
    }

    private async Task ExpireAsync()
    {
        var (expired, removed) = await _store.ExpireDueAsync(CancellationToken.None);
        var (expectedBatches, expectedRemoved) = (0, 0L);
        foreach (var batch in _batches.Values.Where(b => b.DeadlinePending && b.Created + (long)b.Spec.Window!.Value.TotalMilliseconds <= Now).ToArray())
        {
            if (batch.Status is BatchStates.Validating or BatchStates.InProgress)
            {
                expectedRemoved += Stop(batch, BatchStates.Expired);
                expectedBatches++;
            }

            batch.DeadlinePending = false;
        }

        Expect((expectedBatches, expectedRemoved), (expired, removed), "batches expired, items removed", this);
    }

    private async Task DeleteAsync(int index)
    {
        // As BatchGrain.DeleteAsync: only a batch that exists.
        if (!_batches.TryGetValue(Specs[index].Id, out var batch))
        {
            return;
        }

        string expected;
        if (batch.Ended is not null)
        {
            Forget(batch);
            expected = "deleted";
        }
        else
        {
            batch.DeleteAsked = true;
            Stop(batch, BatchStates.Cancelled);
            expected = _batches.ContainsKey(batch.Id) ? "deleting" : "deleted";
        }

        Expect(expected, await _store.DeleteAsync(batch.Id, CancellationToken.None), "delete", this);
    }

    private async Task PurgeAsync()
    {
        var due = _batches.Values.Where(b => b.Expires <= Now).ToArray();
        foreach (var batch in due)
        {
            Forget(batch);
        }

        Expect(due.Length, await _store.PurgeAsync(CancellationToken.None), "batches purged", this);
    }

    private void Forget(MBatch batch)
    {
        _batches.Remove(batch.Id);
        _gone.Add(batch.Id);
    }

    /// <summary>Mirrors check_end: a sealed or stopped batch with no open item ends, or goes if a delete waits for that.</summary>
    private void CheckEnd(MBatch batch)
    {
        if (batch.Ended is not null || batch.Open > 0 || !(batch.Sealed || batch.Stopped is not null))
        {
            return;
        }

        if (batch.DeleteAsked)
        {
            Forget(batch);
            return;
        }

        batch.Ended = Now;
        batch.Expires = Now + (long)ResultTtl.TotalMilliseconds;
    }

    private static void Serve(MSilo silo, int model, bool on)
    {
        if (on)
        {
            silo.Served.Add(Models[model]);
        }
        else
        {
            silo.Served.Remove(Models[model]);
        }
    }

    // ---- the item state machine ----

    private MItem? Find(Lease lease)
    {
        if (lease.Id.EndsWith('r'))
        {
            return _raw[lease.Payload];
        }

        var (batchId, number) = Observation.EnvelopeOf(lease.Payload);
        return _batches.TryGetValue(batchId, out var batch) ? batch.ByNumber.SingleOrDefault(i => i.Number == number) : null;
    }

    private static bool Holds(MItem? item, string token, string owner) =>
        item is { State: ItemState.Leased } && item.Token == token && item.Owner == owner;

    private MBatch? BatchOf(MItem item) => item is MBatchItem b && _batches.TryGetValue(b.Batch.Id, out var batch) && batch == b.Batch ? batch : null;

    private bool Servable(MItem item, MSilo silo) =>
        item is MRaw || ((MBatchItem)item).Batch.Spec.Route is var route && (route.Length == 0 || silo.Served.Contains(route));

    private string? Remembered(string token) =>
        _settled.TryGetValue(token, out var s) && (s.Period == Period || s.Period == Period - 1) ? s.Outcome : null;

    private string Remember(string token, string outcome)
    {
        _settled[token] = (outcome, Period);
        return outcome;
    }

    private void EndLease(MItem item)
    {
        (item.Token, item.Owner, item.Deadline, item.DueAt) = (null, null, 0, 0);
    }

    /// <summary>An item ended: its record goes; a raw payload starts afresh; a batch may end.</summary>
    private void Finish(MItem item)
    {
        if (item is MRaw raw)
        {
            raw.Forget();
            raw.State = ItemState.Ready;
            return;
        }

        EndLease(item);
        if (BatchOf(item) is { } batch && batch.Open == 0)
        {
            CheckEnd(batch);
        }
    }

    private void Remove(MItem item)
    {
        item.State = ItemState.Removed;
        ((MBatchItem)item).Batch.Removed++;
        Finish(item);
    }

    private void Bury(MItem item, int attempts)
    {
        if (item is MBatchItem b)
        {
            b.Batch.Dead.Add((item.Payload, attempts, false));
            item.State = ItemState.Dead;
        }
        else
        {
            _rawDead.Add((item.Payload, attempts));
        }

        Finish(item);
    }

    /// <summary>push_head: back where it waits, or removed when its batch stopped.</summary>
    private string PushHead(MItem item)
    {
        EndLease(item);
        if (item is MRaw raw)
        {
            raw.Copies++;
            raw.State = ItemState.Ready;
            return "released";
        }

        if (((MBatchItem)item).Batch.Stopped is not null)
        {
            Remove(item);
            return "removed";
        }

        item.State = ItemState.Ready;
        return "released";
    }

    /// <summary>requeue_or_bury: a lease that ended without an answer costs an attempt.</summary>
    private bool RequeueOrBury(MItem item)
    {
        item.Attempts++;
        if (item.Attempts >= MaxAttempts)
        {
            Bury(item, item.Attempts);
            return true;
        }

        PushHead(item);
        return false;
    }

    private void AddUsage(MItem item, TokenUsage usage)
    {
        if (item is MRaw)
        {
            _rawPrompt += usage.PromptTokens;
            _rawCompletion += usage.CompletionTokens;
            _rawMs += (long)usage.OllamaTime.TotalMilliseconds;
        }
        else if (BatchOf(item) is { } batch)
        {
            batch.PromptTokens += usage.PromptTokens;
            batch.CompletionTokens += usage.CompletionTokens;
            batch.BackendMs += (long)usage.OllamaTime.TotalMilliseconds;
        }
    }

    private static string Sha1(string text) => Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(text)));
}
