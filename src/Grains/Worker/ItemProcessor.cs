using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Options;
using OrleansLlm.Batches;
using OrleansLlm.Inference;
using OrleansLlm.Ollama;
using OrleansLlm.Options;
using OrleansLlm.Queue;

namespace OrleansLlm.Worker;

/// <summary>
/// Takes one leased item through parse → prompt → Ollama → result document, and says what it came to. It writes
/// nothing to Redis: <see cref="WorkerQueue.RecordAsync"/> records the outcome, so an item's path reads top to
/// bottom in <see cref="WorkerGrain.RunAsync"/>.
/// </summary>
public sealed class ItemProcessor(
    ShardedBatchStore batches,
    IInferenceBackend ollama,
    IOptions<QueueOptions> queueOptions,
    IOptions<PromptOptions> promptOptions,
    TimeProvider time)
{
    private readonly QueueOptions _queue = queueOptions.Value;
    private readonly PreparedSpec _defaultSpec = PreparedSpec.Of(
        new BatchSpec(promptOptions.Value.Template, promptOptions.Value.AnswerField, ollama.Model), defaults: null);

    // Batch specs never change once created, so a silo can keep them.
    private readonly ConcurrentDictionary<string, PreparedSpec> _specs = new(StringComparer.Ordinal);

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
        if (lease.GenuineEnvelope == false)
        {
            // Anyone can push onto the raw list; an envelope counts for its batch only if the batch enqueued it.
            return new ItemOutcome.Malformed($"an envelope for batch '{item.BatchId}' that the batch never enqueued");
        }

        if (item.BatchId == BatchIds.Default && await RepeatedIdAsync(item, TokenUsage.Zero, cancellationToken).ConfigureAwait(false) is { } repeated)
        {
            // Batches drop repeated ids when they are submitted; raw items can only be checked here, before Ollama.
            return repeated;
        }

        var spec = await ResolveSpecAsync(item.BatchId, cancellationToken).ConfigureAwait(false);
        if (spec.Problem is { } problem)
        {
            return new ItemOutcome.Malformed(problem);
        }

        if (Question(spec, item.Item, out var request) is { } unusable)
        {
            return new ItemOutcome.Malformed(unusable);
        }

        Reply reply;
        try
        {
            reply = await AskAsync(spec, request!, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            return Classify(ex, _queue.RetryDelay(lease.FailedAttempts));
        }

        return reply.Invalid is { } invalid
            ? new ItemOutcome.InvalidAnswer(item.Id, invalid, reply.Generation.Text, reply.Generation, reply.Usage)
            : Answered(lease, owner, item, spec, request!, reply);
    }

    /// <summary>Asks Ollama, and once more when the answer does not keep to the batch's format, telling the model what was wrong.</summary>
    /// <returns>The last answer, what both calls cost, and what is wrong with the answer (null when nothing is).</returns>
    private async Task<Reply> AskAsync(
        PreparedSpec spec, InferenceRequest request, CancellationToken cancellationToken)
    {
        var generation = await ollama.GenerateAsync(request, cancellationToken).ConfigureAwait(false);
        JsonElement structured = default;
        if (spec.Format?.Check(generation.Text, out structured) is not { } error)
        {
            return new Reply(generation, generation.Usage, Invalid: null, structured);
        }

        // Ollama does not always keep to a format.
        var second = await ollama.GenerateAsync(request.FollowedBy(generation.Text, AnswerFormat.Correction(error)), cancellationToken).ConfigureAwait(false);
        var invalid = spec.Format.Check(second.Text, out structured);
        return new Reply(second, generation.Usage + second.Usage, invalid, structured);
    }

    private ItemOutcome.Answered Answered(
        Lease lease, string owner, QueueItem item, PreparedSpec spec, InferenceRequest request,
        Reply reply)
    {
        var (generation, usage) = (reply.Generation, reply.Usage);
        var meta = new ResultMeta(
            spec.Spec.AnswerField!, spec.Spec.Model!, lease.FailedAttempts + 1, owner,
            usage.OllamaTime.Ticks * 100, (int)usage.PromptTokens, (int)usage.CompletionTokens, time.GetUtcNow(),
            request.IsChat ? ResultDocument.ChatEndpoint : ResultDocument.GenerateEndpoint, generation.DoneReason);
        var result = spec.Format is null
            ? ResultDocument.Build(item.Id, item.BatchId, item.Item, generation.Text.Trim(), meta)
            : ResultDocument.BuildStructured(item.Id, item.BatchId, item.Item, reply.Structured, generation.Text, meta);
        return new ItemOutcome.Answered(item.BatchId, item.Id, result, generation, usage);
    }

    /// <summary>
    /// For a raw item whose answer met a result already stored under its id (<see cref="CompleteOutcome.Conflict"/>):
    /// <see cref="ItemOutcome.AlreadyDone"/> when that result is this very item's, else <see cref="ItemOutcome.DuplicateId"/>.
    /// </summary>
    /// <param name="usage">What was spent answering it.</param>
    public async Task<ItemOutcome> RepeatedIdAsync(Lease lease, TokenUsage usage, CancellationToken cancellationToken)
    {
        if (QueueItem.TryParse(lease.Payload, int.MaxValue, out var parsed) is not null)
        {
            return new ItemOutcome.DuplicateId("duplicate id: another item already has a result under it", usage);
        }

        using var item = parsed!;
        return await RepeatedIdAsync(item, usage, cancellationToken).ConfigureAwait(false)
            // Stored a moment ago and gone now (its day rolled over): kept as a dead letter all the same, never dropped.
            ?? new ItemOutcome.DuplicateId($"duplicate id '{item.Id}': another item had a result under it, which could no longer be read", usage);
    }

    private async Task<ItemOutcome?> RepeatedIdAsync(QueueItem item, TokenUsage usage, CancellationToken cancellationToken)
    {
        if (await batches.GetResultAsync(item.BatchId, item.Id, cancellationToken).ConfigureAwait(false) is not { } existing)
        {
            return null;
        }

        return ResultDocument.IsResultOf(existing, item.Item)
            ? new ItemOutcome.AlreadyDone(item.Id, usage)
            : new ItemOutcome.DuplicateId(
                $"duplicate id '{item.Id}': another item already has a result under it (this item's SHA-1 {Sha1(ResultDocument.Canonical(item.Item))}, " +
                $"the other's {Sha1(ResultDocument.InputOf(existing) ?? existing)})",
                usage);
    }

    /// <summary>The question for Ollama: the item's messages for a chat batch, else the prompt the template fills.</summary>
    /// <returns>Null with the request, or why the item can't be asked.</returns>
    private static string? Question(PreparedSpec prepared, JsonElement item, out InferenceRequest? request)
    {
        request = null;
        var (spec, format) = (prepared.Spec, prepared.Format?.Value);
        if (spec.Chat)
        {
            if (ChatMessages.TryRead(item, out var messages) is { } error)
            {
                return error;
            }

            request = new InferenceRequest(spec.Model!, Prompt: null, messages, spec.SystemPrompt, spec.Options, format);
            return null;
        }

        string? prompt;
        string? missing;
        try
        {
            prompt = prepared.Template.Render(item, out missing);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
        {
            // Text that parses as JSON but can't be read as a string (an escaped lone surrogate, say).
            return $"unreadable field: {ex.Message}";
        }

        if (prompt is null)
        {
            return $"missing field '{missing}' required by the prompt template";
        }

        request = new InferenceRequest(spec.Model!, prompt, Messages: null, spec.SystemPrompt, spec.Options, format);
        return null;
    }

    /// <summary>Whose fault a failed call is: the backend's (surely or perhaps), or the item's.</summary>
    private ItemOutcome Classify(Exception ex, TimeSpan retryAfter)
    {
        var reason = BackendFailureReasons.Of(ex);
        return ex switch
        {
            HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError } =>
                new ItemOutcome.BackendFault($"Ollama at {ollama.Url} is unreachable: {ex.Message}", Certain: true, retryAfter, reason),
            HttpRequestException { StatusCode: { } status } when (int)status >= 500 || status == HttpStatusCode.NotFound =>
                new ItemOutcome.BackendFault($"Ollama returned HTTP {(int)status} ({status})", Certain: false, retryAfter, reason),
            TaskCanceledException { InnerException: TimeoutException } =>
                new ItemOutcome.BackendFault("Ollama request timed out", Certain: false, retryAfter, reason),
            BackendResponseException or HttpRequestException { StatusCode: null } or IOException =>
                new ItemOutcome.BackendFault($"Ollama's answer was cut off: {ex.Message}", Certain: false, retryAfter, reason),
            HttpRequestException { StatusCode: { } status } =>
                new ItemOutcome.Failed($"Ollama returned HTTP {(int)status} ({status})", retryAfter, reason),
            _ => new ItemOutcome.Failed($"{ex.GetType().Name}: {ex.Message}", retryAfter, reason),
        };
    }

    private async ValueTask<PreparedSpec> ResolveSpecAsync(string batchId, CancellationToken cancellationToken)
    {
        if (batchId == BatchIds.Default)
        {
            return _defaultSpec;
        }

        if (_specs.TryGetValue(batchId, out var cached))
        {
            return cached;
        }

        // A genuine envelope whose batch record is gone (deleted by hand) still deserves an answer: use the silo's defaults.
        var stored = await batches.GetAsync(batchId, cancellationToken).ConfigureAwait(false);
        return stored is null ? _defaultSpec : _specs.GetOrAdd(batchId, PreparedSpec.Of(stored, _defaultSpec.Spec));
    }

    private static string Sha1(string text) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA1.HashData(System.Text.Encoding.UTF8.GetBytes(text)));

    /// <summary>Ollama's last answer to an item, what all its calls cost, and what is wrong with it (null when nothing is).</summary>
    private readonly record struct Reply(Generation Generation, TokenUsage Usage, string? Invalid, JsonElement Structured);
}
