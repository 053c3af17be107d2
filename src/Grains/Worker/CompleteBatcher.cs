using OrleansLlm.Queue;

namespace OrleansLlm.Worker;

/// <summary>
/// A group commit of a worker's answers: the first answer starts a Complete call at once, and the answers that arrive
/// while one is in flight go together in the next (at most one in flight, up to
/// <see cref="RedisLeaseQueue.CompleteGroupMax"/> answers each). An idle worker waits for nothing; a busy one sends
/// one call per group instead of one per answer, which is what Redis' single core spends its time on.
/// </summary>
/// <remarks>
/// Each caller awaits its own outcome, or the exception its group's call ended with, and then tries again on its own
/// terms (in a later group): a Complete sent again returns its first outcome, so a group that did run but whose reply
/// was lost costs nothing twice. The calls run on the thread pool, not in the grain that happened to start them.
/// </remarks>
/// <param name="completeMany">Records a group and returns each answer's outcome in order: the queue's
/// <see cref="ShardedLeaseQueue.CompleteManyAsync"/>, which sends each partition's answers in its own call.</param>
public sealed class CompleteBatcher(Func<IReadOnlyList<CompleteRequest>, CancellationToken, Task<IReadOnlyList<CompleteOutcome>>> completeMany)
{
    private readonly Lock _gate = new();
    private readonly List<Waiting> _next = [];
    private bool _flushing;

    /// <summary>Records one answer with whichever group it falls in.</summary>
    public Task<CompleteOutcome> CompleteAsync(CompleteRequest answer, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var waiting = new Waiting(answer, new TaskCompletionSource<CompleteOutcome>(TaskCreationOptions.RunContinuationsAsynchronously));
        bool start;
        lock (_gate)
        {
            _next.Add(waiting);
            start = !_flushing;
            _flushing = true;
        }

        if (start)
        {
            _ = Task.Run(FlushAsync, CancellationToken.None);
        }

        return waiting.Outcome.Task.WaitAsync(cancellationToken);
    }

    private async Task FlushAsync()
    {
        while (TakeGroup() is { } group)
        {
            try
            {
                // Not the callers' tokens: one caller giving up must not fail the others' answers.
                var outcomes = await completeMany([.. group.Select(w => w.Answer)], CancellationToken.None).ConfigureAwait(false);
                for (var i = 0; i < group.Length; i++)
                {
                    group[i].Outcome.TrySetResult(outcomes[i]);
                }
            }
            catch (Exception ex)
            {
                foreach (var waiting in group)
                {
                    waiting.Outcome.TrySetException(ex);
                }
            }
        }
    }

    /// <returns>The next group, or null (and no flush in flight any more) when none waits.</returns>
    private Waiting[]? TakeGroup()
    {
        lock (_gate)
        {
            if (_next.Count == 0)
            {
                _flushing = false;
                return null;
            }

            var take = Math.Min(_next.Count, RedisLeaseQueue.CompleteGroupMax);
            var group = _next.GetRange(0, take).ToArray();
            _next.RemoveRange(0, take);
            return group;
        }
    }

    private sealed record Waiting(CompleteRequest Answer, TaskCompletionSource<CompleteOutcome> Outcome);
}
