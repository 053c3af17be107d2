using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using OrleansLlm.Batches;
using OrleansLlm.Ollama;
using OrleansLlm.Options;
using OrleansLlm.Queue;
using OrleansLlm.Telemetry;

namespace OrleansLlm.Worker;

/// <summary>
/// Takes one leased item through parse → prompt → Ollama → result document, and says what it came to. It writes
/// nothing to Redis: the worker settles the outcome, so an item's path reads top to bottom in
/// <see cref="WorkerGrain"/>.
/// </summary>
public sealed class ItemProcessor(
    RedisBatchStore batches,
    OllamaGenerator ollama,
    IOptions<QueueOptions> queueOptions,
    IOptions<PromptOptions> promptOptions,
    TimeProvider time)
{
    private readonly QueueOptions _queue = queueOptions.Value;
    private readonly ResolvedSpec _defaultSpec = new(PromptTemplate.Parse(promptOptions.Value.Template), promptOptions.Value.AnswerField);

    // Batch specs never change once created, so a silo can keep them.
    private readonly ConcurrentDictionary<string, ResolvedSpec> _specs = new(StringComparer.Ordinal);

    public string Model => ollama.Model;

    public Uri OllamaUrl => ollama.Url;

    /// <param name="owner">The silo processing the item, recorded in the result.</param>
    /// <exception cref="OperationCanceledException">The call was aborted (a drain ran out of time); the lease is left as it is.</exception>
    public async Task<ItemOutcome> ProcessAsync(Lease lease, string owner, CancellationToken cancellationToken)
    {
        if (QueueItem.TryParse(lease.Payload, _queue.MaxItemBytes, out var parsed) is { } malformed)
        {
            return new ItemOutcome.Malformed(malformed);
        }

        using var item = parsed!;
        var spec = await ResolveSpecAsync(item.BatchId, cancellationToken).ConfigureAwait(false);
        var prompt = spec.Template.Render(item.Item, out var missing);
        if (prompt is null)
        {
            return new ItemOutcome.Malformed($"missing field '{missing}' required by the prompt template");
        }

        Generation generation;
        try
        {
            generation = await ollama.GenerateAsync(prompt, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (HttpRequestException ex) when (ex.HttpRequestError == HttpRequestError.ConnectionError)
        {
            // Not the item's fault (Ollama restarting, say).
            return new ItemOutcome.BackendUnavailable($"Ollama at {ollama.Url} is unreachable: {ex.Message}");
        }
        catch (Exception ex)
        {
            return new ItemOutcome.Failed(Describe(ex), _queue.RetryDelay(lease.FailedAttempts)) { Reason = FailureReasons.Of(ex) };
        }

        var meta = new ResultMeta(
            spec.AnswerField, ollama.Model, lease.FailedAttempts + 1, owner,
            generation.TotalDuration.Ticks * 100, generation.PromptEvalCount, generation.EvalCount, time.GetUtcNow());
        var result = ResultDocument.Build(item.Id, item.BatchId, item.Item, generation.Text.Trim(), meta);
        return new ItemOutcome.Answered(item.BatchId, item.Id, result, generation);
    }

    private async ValueTask<ResolvedSpec> ResolveSpecAsync(string batchId, CancellationToken cancellationToken)
    {
        if (batchId == BatchIds.Default)
        {
            return _defaultSpec;
        }

        if (_specs.TryGetValue(batchId, out var cached))
        {
            return cached;
        }

        var definition = await batches.GetAsync(batchId, cancellationToken).ConfigureAwait(false);
        if (definition is null)
        {
            // An envelope whose batch record is gone still deserves an answer: use the silo's defaults.
            return _defaultSpec;
        }

        var resolved = new ResolvedSpec(
            definition.PromptTemplate is { } t ? PromptTemplate.Parse(t) : _defaultSpec.Template,
            definition.AnswerField ?? _defaultSpec.AnswerField);
        return _specs.GetOrAdd(batchId, resolved);
    }

    private static string Describe(Exception ex) => ex switch
    {
        TaskCanceledException { InnerException: TimeoutException } => "Ollama request timed out",
        HttpRequestException { StatusCode: { } status } => $"Ollama returned HTTP {(int)status}: {ex.Message}",
        _ => $"{ex.GetType().Name}: {ex.Message}",
    };

    private sealed record ResolvedSpec(PromptTemplate Template, string AnswerField);
}
