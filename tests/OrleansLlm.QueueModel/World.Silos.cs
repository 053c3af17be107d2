using System.Text.Json;
using OrleansLlm.Inference;
using OrleansLlm.Queue;

namespace OrleansLlm.QueueModel;

/// <summary>What the simulated silos do: lease, renew, settle (and settle again), drain; and what recovery does.</summary>
public sealed partial class World
{
    private IEnumerable<MItem> AllItems => _batches.Values.SelectMany(b => b.ByNumber).Cast<MItem>().Concat(_raw.Values);

    private async Task LeaseAsync(MSilo silo, int max)
    {
        var served = silo.Served.Select(ModelNames.Key).ToArray();
        var result = await _queue.LeaseAsync(silo.Name, max, served, CancellationToken.None);
        Trace.Add($"     leased {result.Leases.Count}{(result.More ? " (more)" : "")}: {string.Join(" ", result.Leases.Select(l => Find(l)?.ToString() ?? l.Payload))}");
        // The script notes the silo's models first, so none of them is parked by this call.
        foreach (var model in served)
        {
            _servedUntil[model] = Now + (long)RedisLeaseQueue.ServedModelsHold.TotalMilliseconds;
        }

        if (result.Leases.Count > max)
        {
            throw Violation($"{result.Leases.Count} leases for {max} free slots");
        }

        foreach (var lease in result.Leases)
        {
            var item = Find(lease) ?? throw Violation($"leased an item the model does not have: {lease.Payload}");
            if (!_tokens.Add(lease.Id))
            {
                // Fencing rests on this: a re-lease under an old token would make that lease's stale settles current again.
                throw Violation($"token {lease.Id} given twice ({item})");
            }

            if (!Servable(item, silo))
            {
                throw Violation($"{silo.Name} leased {item}, whose model it does not serve");
            }

            Expect(item.Attempts, lease.FailedAttempts, $"failed attempts of {item}", this);
            Expect(item is MRaw ? null : true, lease.GenuineEnvelope, $"envelope mark of {item}", this);
            var due = item is { State: ItemState.Waiting } && item.DueAt <= Now;
            if (item is MRaw raw && !due)
            {
                if (raw.State != ItemState.Ready || raw.Copies == 0)
                {
                    throw Violation($"leased {raw}, which is not ready");
                }

                raw.Copies--;
            }
            else if (!due && (item.State is not (ItemState.Ready or ItemState.Parked) || ((MBatchItem)item).Batch.Stopped is not null))
            {
                // A parked item is servable here (checked above): the call put it back before it leased.
                throw Violation($"leased {item}, which is neither ready, nor parked for this silo, nor a due retry of a running batch");
            }

            (item.State, item.Token, item.Owner, item.Deadline, item.DueAt) = (ItemState.Leased, lease.Id, silo.Name, Now + (long)LeaseDuration.TotalMilliseconds, 0);
            silo.Held.Add(lease);
        }

        await AdoptSideEffectsAsync(silo);

        if (result.Leases.Count < max && !result.More)
        {
            // Nothing this silo can serve is left ready: the lease took all it could.
            var left = AllItems.FirstOrDefault(i => Servable(i, silo)
                && ((i is MRaw r && r.Copies > 0) || (i is MBatchItem { State: ItemState.Ready } b && b.Batch.Stopped is null)));
            var due = AllItems.Where(i => i is { State: ItemState.Waiting } && i.DueAt <= Now).ToArray();
            left ??= due.Length <= 32 ? due.FirstOrDefault(i => Servable(i, silo)) : null;
            if (left is not null)
            {
                throw Violation($"{silo.Name} took {result.Leases.Count} of {max} and said there is no more, but {left} was there for it");
            }
        }
    }

    /// <summary>
    /// What a lease may do on the way besides leasing: park items of a model no live silo serves, remove items of a
    /// stopped batch, put back parked items of the silo's models, and drop raw copies of a payload already in flight.
    /// The model checks each against the rules, then follows it.
    /// </summary>
    private async Task AdoptSideEffectsAsync(MSilo silo)
    {
        var obs = await ObserveAsync();
        foreach (var item in _batches.Values.SelectMany(b => b.ByNumber).ToArray())
        {
            var places = obs.WhereIs(item);
            var waitingDue = item.State == ItemState.Waiting && item.DueAt <= Now;
            var route = item.Batch.Spec.Route;
            if ((item.State == ItemState.Ready || waitingDue) && places is [var parked] && parked.StartsWith("parked:", StringComparison.Ordinal))
            {
                if (route.Length == 0 || silo.Served.Contains(route) || _servedUntil.GetValueOrDefault(route) > Now)
                {
                    throw Violation($"{item} was parked, but its model is served");
                }

                EndLease(item);
                item.State = ItemState.Parked;
            }
            else if ((item.State is ItemState.Ready or ItemState.Parked || waitingDue) && places.Count == 0)
            {
                if (item.Batch.Stopped is null)
                {
                    throw Violation($"{item} was removed, but its batch runs");
                }

                Remove(item);
            }
            else if (item.State == ItemState.Parked && places is [var ready] && ready.StartsWith("ready:", StringComparison.Ordinal))
            {
                if (!silo.Served.Contains(route))
                {
                    throw Violation($"{item} was unparked by {silo.Name}, which does not serve its model");
                }

                item.State = ItemState.Ready;
            }
        }

        foreach (var raw in _raw.Values)
        {
            var copies = obs.RawList.Count(p => p == raw.Payload);
            if (copies < raw.Copies)
            {
                if (raw.State is not (ItemState.Leased or ItemState.Waiting))
                {
                    throw Violation($"{raw.Copies - copies} copies of {raw} dropped, but it is not in flight");
                }

                _rawDuplicates += raw.Copies - copies;
                raw.Copies = copies;
            }
        }
    }

    private async Task RenewAsync(MSilo silo)
    {
        var held = silo.Held.Where(l => Holds(Find(l), l.Id, silo.Name)).ToArray();
        foreach (var lease in held)
        {
            Find(lease)!.Deadline = Now + (long)LeaseDuration.TotalMilliseconds;
        }

        Expect(held.Length, await _queue.RenewAsync(silo.Name, silo.Held.Select(l => l.Id).ToArray(), CancellationToken.None), "leases renewed", this);
    }

    private Lease? Take(MSilo silo, int pick)
    {
        if (silo.Held.Count == 0)
        {
            return null;
        }

        var lease = silo.Held[pick % silo.Held.Count];
        silo.Held.Remove(lease);
        return lease;
    }

    private static string ItemIdOf(Lease lease)
    {
        using var doc = JsonDocument.Parse(lease.Payload);
        return doc.RootElement.TryGetProperty("olm", out var olm) ? olm.GetProperty("id").GetString()! : doc.RootElement.GetProperty("id").GetString()!;
    }

    private async Task AnswerAsync(MSilo silo, int pick)
    {
        if (Take(silo, pick) is { } lease)
        {
            await SettleAsync(silo, Answer(silo, lease));
        }
    }

    private Settle Answer(MSilo silo, Lease lease)
    {
        var answer = new Settle(SettleKind.Complete, lease, ItemIdOf(lease), $"{{\"by\":\"{silo.Name}\",\"lease\":\"{lease.Id}\"}}", false, TimeSpan.Zero, string.Empty, Usage);
        silo.Answered.Add(answer);
        if (silo.Answered.Count > 8)
        {
            silo.Answered.RemoveAt(0);
        }

        return answer;
    }

    /// <summary>
    /// Answers in one Complete call: the model expects each in order, as if sent alone one after the other; then the
    /// worker's follow-up of each conflict, as <see cref="SettleAsync"/> does it.
    /// </summary>
    private async Task AnswerGroupAsync(Op.CompleteGroup op)
    {
        var group = new List<(MSilo Silo, Settle Answer)>();
        foreach (var (index, pick, again) in op.Answers)
        {
            var silo = _silos[index];
            if (again && silo.Answered.Count > 0)
            {
                group.Add((silo, silo.Answered[pick % silo.Answered.Count]));
            }
            else if (Take(silo, pick) is { } lease)
            {
                group.Add((silo, Answer(silo, lease)));
            }
        }

        if (group.Count == 0)
        {
            return;
        }

        var expected = group.Select(g => ExpectComplete(g.Silo, g.Answer)).ToArray();
        var outcomes = await _queue.CompleteManyAsync(
            [.. group.Select(g => new CompleteRequest(g.Answer.Lease, g.Silo.Name, g.Answer.ItemId, g.Answer.Result, g.Answer.Usage))], CancellationToken.None);
        Trace.Add($"     group of {group.Count}: {string.Join(" ", outcomes)}");
        for (var i = 0; i < group.Count; i++)
        {
            Expect(expected[i], outcomes[i], $"Complete of {group[i].Answer.Lease.Id} ({i + 1} of {group.Count} in a group)", this);
        }

        for (var i = 0; i < group.Count; i++)
        {
            group[i].Silo.LastSettle = group[i].Answer;
            if (outcomes[i] == CompleteOutcome.Conflict)
            {
                await SettleConflictAsync(group[i].Silo, group[i].Answer);
            }
        }
    }

    /// <summary>What the worker does with a conflict: the same item again is discarded, another item with its id dead-lettered.</summary>
    private Task SettleConflictAsync(MSilo silo, Settle s)
    {
        var raw = (MRaw)Find(s.Lease)!;
        var existing = _rawResults.TryGetValue((Today, raw.Id), out var today) ? today : _rawResults[(Today - 1, raw.Id)];
        return SettleAsync(silo, existing.Payload == raw.Payload
            ? s with { Kind = SettleKind.Discard }
            : s with { Kind = SettleKind.DeadLetter, Reason = $"duplicate id '{raw.Id}'" });
    }

    private async Task FailAsync(MSilo silo, int pick, bool backend, bool delayed)
    {
        if (Take(silo, pick) is { } lease)
        {
            await SettleAsync(silo, new Settle(SettleKind.Fail, lease, ItemIdOf(lease), string.Empty, backend, delayed ? RetryDelay : TimeSpan.Zero, "HTTP 500", TokenUsage.Zero));
        }
    }

    private async Task MalformedAsync(MSilo silo, int pick)
    {
        if (Take(silo, pick) is { } lease)
        {
            await SettleAsync(silo, new Settle(SettleKind.DeadLetter, lease, ItemIdOf(lease), string.Empty, false, TimeSpan.Zero, "malformed item: the model said so", TokenUsage.Zero));
        }
    }

    /// <summary>One settle, as the worker sends it; the model says what it must come to before Redis is asked.</summary>
    private async Task SettleAsync(MSilo silo, Settle s)
    {
        silo.LastSettle = s;
        switch (s.Kind)
        {
            case SettleKind.Complete:
                var expected = ExpectComplete(silo, s);
                var stored = await _queue.CompleteAsync(s.Lease, silo.Name, s.ItemId, s.Result, s.Usage, CancellationToken.None);
                Expect(expected, stored, $"Complete of {s.Lease.Id}", this);
                if (stored == CompleteOutcome.Conflict)
                {
                    await SettleConflictAsync(silo, s);
                }

                break;
            case SettleKind.Fail:
                var expectedFate = ExpectFail(silo, s);
                var fate = s.Backend
                    ? await _queue.ReportBackendFaultAsync(s.Lease, silo.Name, s.Reason, s.RetryAfter, CancellationToken.None)
                    : await _queue.FailAsync(s.Lease, silo.Name, s.Reason, s.RetryAfter, CancellationToken.None);
                Expect(expectedFate, fate, $"Fail of {s.Lease.Id}", this);
                break;
            case SettleKind.DeadLetter:
                var expectedDead = ExpectDeadLetter(silo, s);
                Expect(expectedDead, await _queue.DeadLetterAsync(s.Lease, silo.Name, s.Reason, s.Usage, CancellationToken.None), $"DeadLetter of {s.Lease.Id}", this);
                break;
            case SettleKind.Discard:
                var expectedDiscard = ExpectDiscard(silo, s);
                Expect(expectedDiscard, await _queue.DiscardAsync(s.Lease, silo.Name, s.Usage, CancellationToken.None), $"Discard of {s.Lease.Id}", this);
                break;
        }
    }

    private CompleteOutcome ExpectComplete(MSilo silo, Settle s)
    {
        var item = Find(s.Lease);
        var token = s.Lease.Id;
        var held = Holds(item, token, silo.Name);
        if (!held && Remembered(token) is { } first)
        {
            return first == "done" ? CompleteOutcome.Stored : CompleteOutcome.Late;
        }

        if (item is MRaw raw && RawResultExists(raw.Id))
        {
            return held ? CompleteOutcome.Conflict : Late(item, token, s.Usage);
        }

        if (item is null || (!held && !TakeBack(item)))
        {
            return Late(item, token, s.Usage);
        }

        AddUsage(item, s.Usage);
        EndLease(item);
        if (item is MRaw r)
        {
            _rawResults[(Today, r.Id)] = (s.Result, r.Payload);
            _rawDone++;
        }
        else
        {
            ((MBatchItem)item).Result = s.Result;
            item.State = ItemState.Done;
        }

        Finish(item);
        Remember(token, "done");
        return CompleteOutcome.Stored;
    }

    private bool RawResultExists(string id) => _rawResults.ContainsKey((Today, id)) || _rawResults.ContainsKey((Today - 1, id));

    /// <summary>take_back: the item of an answer whose lease went back, out of wherever it is now, unless it ended.</summary>
    private bool TakeBack(MItem item)
    {
        switch (item.State)
        {
            case ItemState.Leased:
                _fenced++;
                EndLease(item);
                return true;
            case ItemState.Waiting:
                EndLease(item);
                return true;
            case ItemState.Parked:
                return true;
            case ItemState.Ready when item.HasRecord:
                if (item is MRaw raw)
                {
                    if (raw.Copies == 0)
                    {
                        return false;
                    }

                    raw.Copies--;
                }

                return true;
            default:
                return false;
        }
    }

    private CompleteOutcome Late(MItem? item, string token, TokenUsage usage)
    {
        if (item is MRaw)
        {
            AddUsage(item, usage);
            _rawLate++;
        }
        else if (item is not null && BatchOf(item) is { } batch)
        {
            AddUsage(item, usage);
            batch.Late++;
        }

        _lateAll++;
        Remember(token, "late");
        return CompleteOutcome.Late;
    }

    private FailOutcome ExpectFail(MSilo silo, Settle s)
    {
        var item = Find(s.Lease);
        var token = s.Lease.Id;
        if (!Holds(item, token, silo.Name))
        {
            return FateOf(Remembered(token));
        }

        if (!item!.FailedOn.Contains(silo.Name))
        {
            item.FailedOn.Add(silo.Name);
        }

        var outcome = s.Backend && item.FailedOn.Count < 2 ? PushHead(item) : SpendAttempt(item, s.RetryAfter);
        return FateOf(Remember(token, outcome));
    }

    private static FailOutcome FateOf(string? outcome) => outcome switch
    {
        "released" => FailOutcome.Released,
        "retry" => FailOutcome.Retrying,
        "dead" => FailOutcome.DeadLettered,
        "removed" => FailOutcome.Removed,
        _ => FailOutcome.LeaseLost,
    };

    /// <summary>spend_attempt: dead-lettered at the last attempt, removed if its batch stopped, else it waits for its retry under its token.</summary>
    private string SpendAttempt(MItem item, TimeSpan retryAfter)
    {
        item.Attempts++;
        if (item.Attempts >= MaxAttempts)
        {
            Bury(item, item.Attempts);
            return "dead";
        }

        if (item is MBatchItem { Batch.Stopped: not null })
        {
            Remove(item);
            return "removed";
        }

        (item.State, item.Owner, item.Deadline, item.DueAt) = (ItemState.Waiting, null, 0, Now + (long)retryAfter.TotalMilliseconds);
        return "retry";
    }

    private bool ExpectDeadLetter(MSilo silo, Settle s)
    {
        var item = Find(s.Lease);
        if (!Holds(item, s.Lease.Id, silo.Name))
        {
            return Remembered(s.Lease.Id) == "dead";
        }

        AddUsage(item!, s.Usage);
        Bury(item!, item!.Attempts + 1);
        Remember(s.Lease.Id, "dead");
        return true;
    }

    private bool ExpectDiscard(MSilo silo, Settle s)
    {
        var item = Find(s.Lease);
        if (!Holds(item, s.Lease.Id, silo.Name))
        {
            return Remembered(s.Lease.Id) == "discarded";
        }

        AddUsage(item!, s.Usage);
        _rawDuplicates++;
        Finish(item!);
        Remember(s.Lease.Id, "discarded");
        return true;
    }

    private async Task ReleaseAsync(MSilo silo)
    {
        var leases = silo.Held.ToArray();
        silo.Held.Clear();
        var expected = 0;
        foreach (var lease in leases.Reverse())
        {
            if (Find(lease) is { } item && Holds(item, lease.Id, silo.Name))
            {
                PushHead(item);
                expected++;
            }
        }

        Expect(expected, await _queue.ReleaseAsync(silo.Name, leases.Select(l => l.Id).ToArray(), CancellationToken.None), "leases released", this);
    }

    private async Task SweepAsync()
    {
        // In the order the sweep meets them: by deadline, then by token (a sorted set's order for equal scores).
        var expired = AllItems.Where(i => i.State == ItemState.Leased && i.Deadline <= Now)
            .OrderBy(i => i.Deadline).ThenBy(i => i.Token, StringComparer.Ordinal).ToArray();
        var buried = expired.Count(RequeueOrBury);
        _recovered += expired.Length;
        Expect((expired.Length - buried, buried), await _queue.RequeueExpiredAsync(CancellationToken.None), "leases swept (requeued, dead-lettered)", this);
    }

    private async Task RecoverAsync(MSilo silo)
    {
        // In the order recovery meets them: the owners hash's HSCAN order, read the same way (its dead letters follow it).
        var order = new Dictionary<string, int>(StringComparer.Ordinal);
        await foreach (var entry in Db.HashScanAsync(_keys.Owners, pageSize: 500))
        {
            order[(string)entry.Name!] = order.Count;
        }

        var held = AllItems.Where(i => i.State == ItemState.Leased && i.Owner == silo.Name)
            .OrderBy(i => order.GetValueOrDefault(i.Token!, int.MaxValue)).ToArray();
        var buried = held.Count(RequeueOrBury);
        _recovered += held.Length;
        Expect((held.Length - buried, buried), await _queue.RecoverOwnersAsync([silo.Name], "silo declared dead", CancellationToken.None), "leases recovered", this);
    }
}
