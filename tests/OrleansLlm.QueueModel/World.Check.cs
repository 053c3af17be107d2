using OrleansLlm.Inference;

namespace OrleansLlm.QueueModel;

/// <summary>
/// After every step: the whole queue read back from Redis and held to the model, and the invariants of
/// docs/architecture.md checked: every item of a batch in exactly one state; the batch counts equal the items in each
/// state; completed exactly when every item is terminal; at most one result per item; attempts never above the most.
/// </summary>
public sealed partial class World
{
    private Task<Observation> ObserveAsync() =>
        Observation.ReadAsync(Db, _keys, [.. _batches.Keys, .. _gone, BatchIds.Default], Models.Select(ModelNames.Key));

    private async Task CheckAsync()
    {
        var obs = await ObserveAsync();
        foreach (var batch in _batches.Values)
        {
            await CheckBatchAsync(batch, obs);
        }

        foreach (var id in _gone)
        {
            var gone = obs.Batches[id];
            if (gone.Hash.Count + gone.Items.Count + gone.State.Count + gone.Results.Count + gone.Dead.Count + gone.Order.Count > 0)
            {
                throw Violation($"batch {id} is gone, but keys of it are left: {string.Join(", ", gone.Hash.Keys)}");
            }
        }

        Expect(string.Join(",", _batches.Keys.Order()), string.Join(",", obs.BatchIndex.Order()), "the batch index", this);
        Expect(
            string.Join(",", _batches.Values.Where(b => b.Expires is not null).Select(b => $"{b.Id}@{b.Expires}").Order()),
            string.Join(",", obs.Ended.Select(e => $"{e.Key}@{e.Value}").Order()),
            "the batches waiting to be forgotten",
            this);

        CheckRaw(obs);
        CheckInFlight(obs);

        var dead = _batches.Values.Sum(b => b.Dead.Count(d => !d.Retried)) + _rawDead.Count;
        Expect(
            (dead, _rawDuplicates, _lateAll, _recovered, _fenced),
            (obs.Stat("dead"), obs.Stat("duplicates"), obs.Stat("late"), obs.Stat("recovered"), obs.Stat("fenced")),
            "the queue's counts (dead, duplicates, late, recovered, fenced)",
            this);
    }

    private async Task CheckBatchAsync(MBatch batch, Observation obs)
    {
        var seen = obs.Batches[batch.Id];
        if (!seen.Exists)
        {
            throw Violation($"batch {batch.Id} is missing");
        }

        Expect(
            string.Join(",", batch.ByNumber.Select(i => $"{i.Id}={i.Number}").Order()),
            string.Join(",", seen.Items.Select(i => $"{i.Key}={i.Value}").Order()),
            $"the items of {batch.Id}",
            this);

        // Every item in exactly one place, the one its state says, with the record its state says.
        foreach (var item in batch.ByNumber)
        {
            var places = obs.WhereIs(item);
            var expected = item.State switch
            {
                ItemState.Ready => [$"ready:{batch.Spec.Priority}"],
                ItemState.Parked => [$"parked:{batch.Spec.Route}"],
                ItemState.Leased => [$"leased:{item.Token}:{item.Owner}"],
                ItemState.Waiting => [$"waiting:{item.Token}"],
                ItemState.Done => ["done"],
                ItemState.Dead => ["dead"],
                _ => Array.Empty<string>(),
            };
            Expect(string.Join(" ", expected), string.Join(" ", places), $"where {item} is", this);
            var record = seen.State.GetValueOrDefault(item.Number.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Expect(item.HasRecord ? item.Record : null, record, $"the record of {item}", this);
            if (item.Attempts > MaxAttempts)
            {
                throw Violation($"{item} has {item.Attempts} attempts, above {MaxAttempts}");
            }

            if (item.State == ItemState.Done)
            {
                Expect(item.Result, seen.Results.GetValueOrDefault(item.Id), $"the result of {item}", this);
                Expect((long)item.Number, seen.Order.GetValueOrDefault(item.Id), $"the result order of {item}", this);
            }
        }

        Expect(batch.ByNumber.Count(i => i.HasRecord), seen.State.Count, $"records of {batch.Id}", this);
        Expect(batch.Count(ItemState.Done), seen.Results.Count, $"results of {batch.Id} (at most one per item, none for an item not done)", this);
        Expect(
            string.Join(" | ", batch.Dead.Select(d => $"{d.Payload} {d.Attempts} {d.Retried}")),
            string.Join(" | ", seen.Dead.Select(d => $"{d.GetProperty("item").GetString()} {d.GetProperty("attempts").GetInt32()} {d.TryGetProperty("retried", out _)}")),
            $"the dead letters of {batch.Id}",
            this);

        // The counts the scripts keep equal the items in each state.
        Expect(
            (batch.Open, batch.Count(ItemState.Leased) + batch.Count(ItemState.Waiting), batch.Count(ItemState.Parked), batch.Count(ItemState.Done), batch.Count(ItemState.Dead), batch.Removed, batch.Late),
            (seen.Count("open"), seen.Count("inflight"), seen.Count("parked"), seen.Count("done"), seen.Count("dead"), seen.Count("removed"), seen.Count("late")),
            $"the counts of {batch.Id} (open, in flight, parked, done, dead, removed, late)",
            this);
        Expect(batch.Count(ItemState.Removed), batch.Removed, $"removed items of {batch.Id}", this);
        Expect(
            (batch.PromptTokens, batch.CompletionTokens, batch.BackendMs),
            (seen.Count("prompt_tokens"), seen.Count("completion_tokens"), seen.Count("backend_ms")),
            $"the usage of {batch.Id}",
            this);
        Expect(
            (batch.Sealed, batch.Stopped, batch.Ended, batch.Expires),
            (seen.Hash.GetValueOrDefault("sealed") == "1", seen.Hash.GetValueOrDefault("stopped"), Long(seen.Hash.GetValueOrDefault("ended")), Long(seen.Hash.GetValueOrDefault("expires"))),
            $"sealed, stopped, ended and expires of {batch.Id}",
            this);

        // Completed exactly when every item is terminal, as the status the clients see says.
        var status = (await _store.GetCountsAsync(batch.Id, CancellationToken.None)).Status;
        Expect(batch.Status, status, $"the status of {batch.Id}", this);
        var allTerminal = batch.ByNumber.All(i => i.State is ItemState.Done or ItemState.Dead or ItemState.Removed);
        if ((status == BatchStates.Completed) != (batch.Sealed && batch.Stopped is null && allTerminal))
        {
            throw Violation($"{batch.Id} is {status} with {batch.Open} items open");
        }
    }

    private void CheckRaw(Observation obs)
    {
        Expect(
            string.Join(" ", _raw.Values.Where(r => r.Copies > 0).Select(r => $"{r.Payload}×{r.Copies}").Order()),
            string.Join(" ", obs.RawList.GroupBy(p => p).Select(g => $"{g.Key}×{g.Count()}").Order()),
            "the raw list",
            this);
        Expect(
            string.Join(" ", _raw.Values.Where(r => r.HasRecord).Select(r => $"{Sha1(r.Payload)}={r.Record}").Order()),
            string.Join(" ", obs.RawState.Select(r => $"{r.Key}={r.Value}").Order()),
            "the raw records",
            this);
        Expect(
            string.Join(" ", _rawResults.Select(r => $"{r.Key.Day}/{r.Key.Id}={r.Value.Result}").Order()),
            string.Join(" ", obs.RawResults.Select(r => $"{r.Key.Day}/{r.Key.Id}={r.Value}").Order()),
            "the raw results",
            this);
        Expect(
            string.Join(" | ", _rawDead.Select(d => $"{d.Payload} {d.Attempts}")),
            string.Join(" | ", obs.RawDead.Select(d => $"{d.GetProperty("item").GetString()} {d.GetProperty("attempts").GetInt32()}")),
            "the raw dead letters",
            this);
        var counts = obs.Batches[BatchIds.Default];
        Expect(
            (_raw.Values.Count(r => r.State is ItemState.Leased or ItemState.Waiting), _rawDone, _rawDead.Count, _rawDuplicates, _rawLate, _rawPrompt, _rawCompletion, _rawMs),
            (counts.Count("inflight"), counts.Count("done"), counts.Count("dead"), counts.Count("duplicates"), counts.Count("late"), counts.Count("prompt_tokens"), counts.Count("completion_tokens"), counts.Count("backend_ms")),
            "the raw items' counts (in flight, done, dead, duplicates, late, usage)",
            this);
    }

    /// <summary>Every lease and waiting retry in Redis belongs to exactly the item the model says, with its owner, deadline or due time.</summary>
    private void CheckInFlight(Observation obs)
    {
        var flying = AllItems.Where(i => i.State is ItemState.Leased or ItemState.Waiting).ToArray();
        Expect(
            string.Join(" ", flying.Select(i => $"{i.Token}={i.Payload}").Order()),
            string.Join(" ", obs.InFlight.Select(e => $"{e.Key}={e.Value}").Order()),
            "the items in flight",
            this);
        Expect(
            string.Join(" ", flying.Where(i => i.State == ItemState.Leased).Select(i => $"{i.Token}={i.Owner}@{i.Deadline}").Order()),
            string.Join(" ", obs.Owners.Select(o => $"{o.Key}={o.Value}@{obs.Deadlines.GetValueOrDefault(o.Key)}").Order()),
            "the leases' owners and deadlines",
            this);
        Expect(flying.Count(i => i.State == ItemState.Leased), obs.Deadlines.Count, "the lease deadlines", this);
        Expect(
            string.Join(" ", flying.Where(i => i.State == ItemState.Waiting).Select(i => $"{i.Token}@{i.DueAt}").Order()),
            string.Join(" ", obs.Retries.Select(r => $"{r.Key}@{r.Value}").Order()),
            "the retries",
            this);
    }

    private static long? Long(string? value) => value is null ? null : long.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
}
