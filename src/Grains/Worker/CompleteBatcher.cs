using OrleansLlm.Queue;

namespace OrleansLlm.Worker;

/// <summary>
/// A group commit of a worker's answers: a group gathers the answers that arrive for <see cref="GatherFor"/> (10 ms)
/// and then goes in one Complete call (<see cref="RedisLeaseQueue.CompleteGroupMax"/> answers a call); the answers that
/// arrive meanwhile gather for the next, at most one group in flight. A busy worker sends one call per group instead of one per answer, which is what Redis' single core
/// spends its time on; an answer waits at most the gathering time more, and its slot is already free meanwhile.
/// </summary>
/// <remarks>
/// Each caller awaits its own outcome, or the exception its group's call ended with, and then tries again on its own
/// terms (in a later group): a Complete sent again returns its first outcome, so a group that did run but whose reply
/// was lost costs nothing twice. The calls run on the thread pool, not in the grain that happened to start them.
/// </remarks>
/// <param name="completeMany">Records a group and returns each answer's outcome in order: the queue's
/// <see cref="ShardedLeaseQueue.CompleteManyAsync"/>, which sends each partition's answers in its own call.</param>
/// <param name="time">Times the gathering.</param>
public sealed class CompleteBatcher(
    Func<IReadOnlyList<CompleteRequest>, CancellationToken, Task<IReadOnlyList<CompleteOutcome>>> completeMany, TimeProvider time)
{
    /// <summary>
    /// How long a group gathers answers. Without it, a worker whose answers come one at a time (a few slots, fast
    /// answers) would send one call per answer, each finding no call in flight to wait behind.
    /// </summary>
    public static readonly TimeSpan GatherFor = TimeSpan.FromMilliseconds(10);

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
        // Every group gathers first, also the one after a call came back: what arrived during that call's round trip
        // alone would make a group of one or two.
        while (true)
        {
            await Task.Delay(GatherFor, time).ConfigureAwait(false);
            if (TakeGroup() is not { } group)
            {
                return;
            }

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

            // All of them: the queue sends them CompleteGroupMax a call.
            var group = _next.ToArray();
            _next.Clear();
            return group;
        }
    }

    private sealed record Waiting(CompleteRequest Answer, TaskCompletionSource<CompleteOutcome> Outcome);
}
