using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansLlm.Ollama;
using OrleansLlm.Options;
using OrleansLlm.Queue;

namespace OrleansLlm.Worker;

public enum ItemOutcome
{
    /// <summary>Ollama answered; the result still has to be recorded with <see cref="ItemProcessor.RecordAsync"/>.</summary>
    Answered,
    Failed,
    DeadLettered,

    /// <summary>Ollama could not be reached at all: the item went back unharmed, no attempt counted.</summary>
    OllamaUnreachable,
}

/// <summary>What became of one item's Ollama call; <see cref="Result"/> is set when Ollama answered.</summary>
public sealed record ItemCall(ItemOutcome Outcome, Generation? Generation, ItemResult? Result = null);

/// <summary>A result ready to be recorded for its item.</summary>
public sealed record ItemResult(string BatchId, string ItemId, string Json);

/// <summary>
/// Takes one leased item through parse → prompt → Ollama (<see cref="CallAsync"/>), then records the result
/// (<see cref="RecordAsync"/>). Two steps, so the worker can hand Ollama its next request while Redis records this
/// one. Every exit settles the lease in Redis: completed, failed (retried later through the lease) or
/// dead-lettered. Only cancellation leaves it as is, for the drain to hand back.
/// </summary>
public sealed partial class ItemProcessor(
    RedisWorkQueue queue,
    OllamaGenerator ollama,
    IOptions<QueueOptions> queueOptions,
    IOptions<PromptOptions> promptOptions,
    TimeProvider time,
    ILogger<ItemProcessor> logger)
{
    private readonly QueueOptions _queue = queueOptions.Value;
    private readonly ResolvedSpec _defaultSpec = new(PromptTemplate.Parse(promptOptions.Value.Template), promptOptions.Value.AnswerField);

    // Batch specs never change once created, so a silo can keep them.
    private readonly ConcurrentDictionary<string, ResolvedSpec> _specs = new(StringComparer.Ordinal);

    public string Model => ollama.Model;

    public Uri OllamaUrl => ollama.Url;

    public async Task<ItemCall> CallAsync(Lease lease, string owner, CancellationToken cancellationToken)
    {
        if (QueueItem.TryParse(lease.Payload, _queue.MaxItemBytes, out var parsed) is { } malformed)
        {
            return await DeadLetterAsync(lease, QueueItem.BatchOf(lease.Payload), owner, $"malformed item: {malformed}", cancellationToken).ConfigureAwait(false);
        }

        using var item = parsed!;
        var spec = await ResolveSpecAsync(item.BatchId, cancellationToken).ConfigureAwait(false);
        var prompt = spec.Template.Render(item.Item, out var missing);
        if (prompt is null)
        {
            return await DeadLetterAsync(lease, item.BatchId, owner, $"malformed item: missing field '{missing}' required by the prompt template", cancellationToken).ConfigureAwait(false);
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
            // Not the item's fault (Ollama restarting, say): hand it back without spending one of its attempts.
            LogOllamaUnreachable(logger, ollama.Url, ex.Message);
            await queue.ReleaseAsync(owner, [lease.Id], cancellationToken).ConfigureAwait(false);
            return new ItemCall(ItemOutcome.OllamaUnreachable, null);
        }
        catch (Exception ex)
        {
            var error = Describe(ex);
            var retryAfter = _queue.RetryDelay(lease.FailedAttempts);
            LogOllamaFailed(logger, item.Id, lease.FailedAttempts + 1, retryAfter, error);
            await queue.FailAsync(lease, owner, error, retryAfter, cancellationToken).ConfigureAwait(false);
            return new ItemCall(ItemOutcome.Failed, null);
        }

        var result = BuildResult(item, spec.AnswerField, generation, lease.FailedAttempts + 1, owner);
        return new ItemCall(ItemOutcome.Answered, generation, new ItemResult(item.BatchId, item.Id, result));
    }

    /// <summary>Completes the lease with its result. A second result for an item is discarded, and counted in Redis (<see cref="QueueKeys.Duplicates"/>).</summary>
    public Task RecordAsync(Lease lease, ItemResult result, CancellationToken cancellationToken) =>
        queue.CompleteAsync(lease, result.BatchId, result.ItemId, result.Json, cancellationToken);

    private async Task<ItemCall> DeadLetterAsync(Lease lease, string batchId, string owner, string reason, CancellationToken cancellationToken)
    {
        LogDeadLettered(logger, lease.Id, reason);
        await queue.DeadLetterAsync(lease, batchId, owner, reason, cancellationToken).ConfigureAwait(false);
        return new ItemCall(ItemOutcome.DeadLettered, null);
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

        var spec = await queue.GetBatchSpecAsync(batchId, cancellationToken).ConfigureAwait(false);
        if (spec is null)
        {
            // An envelope whose batch record is gone still deserves an answer: use the silo's defaults.
            return _defaultSpec;
        }

        var resolved = new ResolvedSpec(
            spec.PromptTemplate is { } t ? PromptTemplate.Parse(t) : _defaultSpec.Template,
            spec.AnswerField ?? _defaultSpec.AnswerField);
        return _specs.GetOrAdd(batchId, resolved);
    }

    private string BuildResult(QueueItem item, string answerField, Generation generation, int attempts, string silo)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("id", item.Id);
            w.WriteString("batch", item.BatchId);
            w.WritePropertyName("input");
            item.Item.WriteTo(w);
            w.WriteString(answerField, generation.Text.Trim());
            w.WriteStartObject("meta");
            w.WriteString("model", ollama.Model);
            w.WriteNumber("attempts", attempts);
            w.WriteString("silo", silo);
            w.WriteNumber("total_duration", generation.TotalDuration.Ticks * 100);
            w.WriteNumber("eval_count", generation.EvalCount);
            w.WriteString("completed_at", time.GetUtcNow());
            w.WriteEndObject();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static string Describe(Exception ex) => ex switch
    {
        TaskCanceledException { InnerException: TimeoutException } => "Ollama request timed out",
        HttpRequestException { StatusCode: { } status } => $"Ollama returned HTTP {(int)status}: {ex.Message}",
        _ => $"{ex.GetType().Name}: {ex.Message}",
    };

    private sealed record ResolvedSpec(PromptTemplate Template, string AnswerField);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ollama call for item {ItemId} failed (attempt {Attempt}); retrying in {RetryAfter}: {Error}")]
    private static partial void LogOllamaFailed(ILogger logger, string itemId, int attempt, TimeSpan retryAfter, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ollama at {OllamaUrl} is unreachable; item handed back: {Error}")]
    private static partial void LogOllamaUnreachable(ILogger logger, Uri ollamaUrl, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dead-lettered lease {LeaseId}: {Reason}")]
    private static partial void LogDeadLettered(ILogger logger, string leaseId, string reason);
}
