using System.ClientModel;
using System.ClientModel.Primitives;
using System.Collections.Concurrent;
using System.Net;
using System.Runtime.ExceptionServices;
using System.Text.Json;
using Microsoft.Extensions.Options;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Models;
using OrleansLlm.Inference;
using OrleansLlm.Options;
using OrleansLlm.Telemetry;

namespace OrleansLlm.OpenAiCompatible;

/// <summary>
/// Calls an OpenAI-compatible server beside the silo (vLLM, llama.cpp's <c>llama-server</c>, SGLang):
/// <c>/v1/chat/completions</c>, never streamed, and <c>/v1/models</c>. Each answer's queue wait comes from what the
/// server tells (<see cref="QueueSignal"/>): llama.cpp's <c>timings</c>, else its waiting gauge
/// (<see cref="ServerQueueReader"/>), else nothing.
/// </summary>
/// <remarks>
/// Through the official <c>OpenAI</c> package rather than Microsoft.Extensions.AI or hand-written JSON: it is
/// maintained against the API's shapes (<c>response_format</c> with a JSON schema, <c>max_completion_tokens</c>,
/// <c>stop</c>, <c>usage</c>), turns error statuses into exceptions, and keeps the raw response, where llama.cpp's
/// <c>timings</c> are, which Microsoft.Extensions.AI's abstraction would hide one level further down. Its transport is
/// the typed <see cref="HttpClient"/>, so handlers (the benchmark's recorder) see every call. Its retries are off
/// (<see cref="ClientRetryPolicy"/> of 0): the queue retries an item (<c>Queue:MaxAttempts</c>) and the worker's
/// breaker watches the server, and a hidden retry would double the load on a failing server and hide its failures
/// from both. The SDK reads <c>finish_reason</c> into a closed set and throws on a value outside it; such an answer
/// counts as a bad response.
/// </remarks>
public sealed class OpenAiCompatibleBackend : IInferenceBackend
{
    private const string SchemaName = "answer";

    private readonly ApiKeyCredential _credential;
    private readonly OpenAIClientOptions _clientOptions;
    private readonly OpenAIModelClient _models;
    private readonly ConcurrentDictionary<string, ChatClient> _chats = new(StringComparer.Ordinal);
    private readonly BackendOptions _settings;
    private readonly ServerQueueReader _queue;
    private readonly InferenceMetrics _metrics;
    private readonly TimeProvider _time;

    public OpenAiCompatibleBackend(HttpClient http, IOptions<BackendOptions> options, ServerQueueReader queue, InferenceMetrics metrics, TimeProvider time)
    {
        (_settings, _queue, _metrics, _time) = (options.Value, queue, metrics, time);
        Url = http.BaseAddress!;
        _clientOptions = new OpenAIClientOptions
        {
            // The SDK appends "/chat/completions" and "/models" to an endpoint that, for OpenAI itself, ends in /v1.
            Endpoint = new Uri(Url.AbsoluteUri.TrimEnd('/') + "/v1"),
            Transport = new HttpClientPipelineTransport(http),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = _settings.RequestTimeout,
        };
        // The SDK always sends a key. Without one configured it sends "EMPTY", as vLLM's own examples do: a server
        // started without --api-key ignores the header.
        _credential = new ApiKeyCredential(_settings.ApiKey is { Length: > 0 } key ? key : "EMPTY");
        _models = new OpenAIModelClient(_credential, _clientOptions);
    }

    /// <summary>The model as the server names it (<c>Backend:Model</c>), unchanged: such names have no Ollama tag.</summary>
    public string Model => _settings.Model!;

    public Uri Url { get; }

    /// <summary>
    /// Asks one question through <c>/v1/chat/completions</c>, a prompt as a user message after the system one.
    /// </summary>
    /// <remarks>
    /// Chat for prompts too, not <c>/v1/completions</c>: completions hands the prompt to the model as raw text, without
    /// the model's chat template and with no place for a system prompt, so an instruct model continues the text rather
    /// than answering it. Ollama's <c>/api/generate</c>, which a prompt batch means, applies the template; chat does here.
    /// </remarks>
    public async Task<Generation> GenerateAsync(InferenceRequest request, CancellationToken cancellationToken)
    {
        var model = ServerModel(request.Model);
        using var span = OrleansLlmActivities.StartGeneration(model, Url, GenAiAttributes.OpenAiCompatible);
        var started = _time.GetTimestamp();
        var mark = _queue.Mark();
        Generation generation;
        try
        {
            var chat = _chats.GetOrAdd(model, m => new ChatClient(m, _credential, _clientOptions));
            var result = await chat.CompleteChatAsync(Messages(request), ChatOptions(request), cancellationToken).ConfigureAwait(false);
            generation = ToGeneration(result, _time.GetElapsedTime(started), mark);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            var failure = Translate(ex);
            var reason = BackendFailureReasons.Of(failure);
            _metrics.Failed(_time.GetElapsedTime(started), model, Url, reason, GenAiAttributes.OpenAiCompatible);
            span.SetFailure(reason, failure.Message);
            ExceptionDispatchInfo.Throw(failure);
            throw;
        }

        _metrics.Answered(generation, _time.GetElapsedTime(started), model, Url, GenAiAttributes.OpenAiCompatible);
        span?.SetTag(GenAiAttributes.InputTokens, generation.PromptEvalCount)
            .SetTag(GenAiAttributes.OutputTokens, generation.EvalCount);
        return generation;
    }

    /// <summary>The models the server has (<c>/v1/models</c>), by their ids.</summary>
    public async Task<IReadOnlyList<string>> ListModelsAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_settings.ProbeTimeout);
        try
        {
            var models = await _models.GetModelsAsync(timeout.Token).ConfigureAwait(false);
            return models.Value.Select(m => m.Id).ToArray();
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            ExceptionDispatchInfo.Throw(Translate(ex));
            throw;
        }
    }

    /// <summary>
    /// Checks that the server lists the model (<c>/v1/models</c>) and answers a one-token request: what a broken
    /// server (down, out of memory, without its model) fails, and a working one passes however busy it is.
    /// </summary>
    public async Task<BackendProbe> ProbeAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_settings.ProbeTimeout);
        try
        {
            if (!(await ListModelsAsync(timeout.Token).ConfigureAwait(false)).Any(m => ModelNames.Same(m, Model)))
            {
                return new BackendProbe($"the server at {Url} does not have the model {Model}");
            }

            var chat = _chats.GetOrAdd(Model, m => new ChatClient(m, _credential, _clientOptions));
            await chat.CompleteChatAsync([new UserChatMessage("Say OK.")], new ChatCompletionOptions { MaxOutputTokenCount = 1 }, timeout.Token).ConfigureAwait(false);
            return new BackendProbe(null);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            return Translate(ex) switch
            {
                OperationCanceledException => new BackendProbe($"the server at {Url} did not answer within {_settings.ProbeTimeout.TotalSeconds:0} s"),
                HttpRequestException { StatusCode: { } status } => new BackendProbe($"the server at {Url} answered HTTP {(int)status}"),
                var failure => new BackendProbe($"the server at {Url} is unreachable or unusable: {failure.Message}"),
            };
        }
    }

    /// <summary>
    /// The name to send for a batch's model. Batches store models tagged as Ollama names them (<c>x</c> is
    /// <c>x:latest</c>, <see cref="BatchSpec.Normalised"/>), and route by <see cref="ModelNames.Key"/>, which compares
    /// names that way; an OpenAI-compatible server knows its ids untagged, so the tag that normalising added goes.
    /// </summary>
    private string ServerModel(string model) =>
        ModelNames.Same(model, Model) ? Model
        : model.EndsWith(":latest", StringComparison.Ordinal) ? model[..^":latest".Length]
        : model;

    private static List<ChatMessage> Messages(InferenceRequest request)
    {
        var messages = new List<ChatMessage>((request.Messages?.Count ?? 1) + 1);
        if (request.System is { } system)
        {
            messages.Add(new SystemChatMessage(system));
        }

        if (!request.IsChat)
        {
            messages.Add(new UserChatMessage(request.Prompt ?? string.Empty));
            return messages;
        }

        messages.AddRange(request.Messages!.Select(turn => turn.Role switch
        {
            "system" => new SystemChatMessage(turn.Content),
            "assistant" => new AssistantChatMessage(turn.Content),
            _ => (ChatMessage)new UserChatMessage(turn.Content),
        }));
        return messages;
    }

    /// <summary>
    /// The batch's options in OpenAI's fields. Left out, having no per-request field in the API: <c>num_ctx</c> (the
    /// server's context is set when it starts: vLLM's <c>--max-model-len</c>, llama.cpp's <c>-c</c>) and Ollama's
    /// <c>num_thread</c> (<c>Ollama:NumThreads</c>).
    /// </summary>
    private static ChatCompletionOptions ChatOptions(InferenceRequest request)
    {
        var options = request.Options;
        var chat = new ChatCompletionOptions
        {
            Temperature = (float?)options?.Temperature,
            TopP = (float?)options?.TopP,
            // Sent as max_completion_tokens, which vLLM, SGLang and llama.cpp read before max_tokens.
            MaxOutputTokenCount = options?.NumPredict,
            ResponseFormat = ResponseFormat(request.Format),
        };
#pragma warning disable OPENAI001 // Seed is experimental in the SDK (OpenAI may drop it); vLLM, SGLang and llama.cpp honour it.
        chat.Seed = options?.Seed;
#pragma warning restore OPENAI001
        foreach (var stop in options?.Stop ?? [])
        {
            chat.StopSequences.Add(stop);
        }

        return chat;
    }

    /// <summary>The batch's format (the string <c>json</c> or a JSON Schema) as <c>response_format</c>.</summary>
    private static ChatResponseFormat? ResponseFormat(JsonElement? format) => format switch
    {
        null => null,
        { ValueKind: JsonValueKind.Object } schema => ChatResponseFormat.CreateJsonSchemaFormat(SchemaName, BinaryData.FromString(schema.GetRawText())),
        _ => ChatResponseFormat.CreateJsonObjectFormat(),
    };

    /// <summary>
    /// The answer in Ollama's figures (<see cref="Generation"/>), its wait from the best signal the server gives:
    /// llama.cpp's timings (the rest of the call's time is the wait), else the waiting gauge over the request's life
    /// (the wait is that share of its time, <see cref="QueueGauge.WaitShare"/>), else none (all of it counts as work).
    /// </summary>
    private Generation ToGeneration(ClientResult<ChatCompletion> result, TimeSpan wall, GaugeMark mark)
    {
        var completion = result.Value;
        var text = string.Concat(completion.Content.Where(part => part.Kind == ChatMessageContentPartKind.Text).Select(part => part.Text));
        var (input, output) = (completion.Usage?.InputTokenCount ?? 0, completion.Usage?.OutputTokenCount ?? 0);
        // What ResultDocument and the OpenAI batch output expect: "length" when cut at max tokens, else "stop".
        var done = completion.FinishReason == ChatFinishReason.Length ? "length" : "stop";
        if (LlamaCppTimings.Read(result.GetRawResponse().Content) is { } timings)
        {
            return new Generation(text, wall, output, timings.Predicted, PromptEvalDuration: timings.Prompt, PromptEvalCount: input, DoneReason: done, Signal: QueueSignal.Durations);
        }

        return _queue.WaitShareSince(mark) is { } share
            ? new Generation(text, wall, output, wall * (1 - share), PromptEvalCount: input, DoneReason: done, Signal: QueueSignal.ServerGauge)
            : new Generation(text, wall, output, wall, PromptEvalCount: input, DoneReason: done, Signal: QueueSignal.None);
    }

    /// <summary>
    /// The SDK's failures as the worker classes them (<see cref="IInferenceBackend.GenerateAsync"/>): an error status as
    /// an <see cref="HttpRequestException"/> with it, an unreachable server as the transport's own exception, a timeout
    /// as one, an unreadable answer as a <see cref="BackendResponseException"/>.
    /// </summary>
    private Exception Translate(Exception ex) => ex switch
    {
        ClientResultException { InnerException: HttpRequestException unreachable } => unreachable,
        ClientResultException { Status: > 0 } refused => new HttpRequestException(
            $"the server at {Url} answered HTTP {refused.Status}: {refused.Message}", refused, (HttpStatusCode)refused.Status),
        OperationCanceledException => new TaskCanceledException(
            $"the server at {Url} did not answer within {_settings.RequestTimeout}", new TimeoutException(ex.Message, ex)),
        ClientResultException or JsonException or ArgumentOutOfRangeException or InvalidOperationException or FormatException =>
            new BackendResponseException($"the server at {Url} answered something unusable: {ex.Message}", ex),
        _ => ex,
    };
}
