using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using OllamaSharp;
using OllamaSharp.Models;
using OllamaSharp.Models.Chat;
using OrleansLlm.Inference;
using OrleansLlm.Options;
using OrleansLlm.Telemetry;

namespace OrleansLlm.Ollama;

/// <summary>Calls the silo's co-located Ollama through OllamaSharp, non-streaming; each call is measured and traced.</summary>
public sealed class OllamaBackend(HttpClient http, IOptions<OllamaOptions> options, InferenceMetrics metrics, TimeProvider time) : IInferenceBackend
{
    private readonly OllamaApiClient _client = new(http, options.Value.TaggedModel);

    // The Ollama form of each batch's options, by the very instance the batch's requests carry (RequestOptionsFor).
    private readonly ConditionalWeakTable<GenerationOptions, RequestOptions> _requestOptions = new();

    private readonly OllamaOptions _settings = options.Value;

    /// <summary>The model, always with its tag (<c>:latest</c> when configured without one).</summary>
    public string Model => options.Value.TaggedModel;

    public Uri Url => http.BaseAddress!;

    /// <summary>Asks Ollama one question: <c>/api/chat</c> for messages, else <c>/api/generate</c>; never streamed.</summary>
    public async Task<Generation> GenerateAsync(InferenceRequest request, CancellationToken cancellationToken)
    {
        using var span = OrleansLlmActivities.StartGeneration(request.Model, Url);
        var started = time.GetTimestamp();
        Generation generation;
        try
        {
            generation = request.IsChat
                ? await ChatAsync(request, cancellationToken).ConfigureAwait(false)
                : await GenerateOnceAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            var reason = BackendFailureReasons.Of(ex);
            metrics.Failed(time.GetElapsedTime(started), request.Model, Url, reason);
            span.SetFailure(reason, ex.Message);
            throw;
        }

        metrics.Answered(generation, time.GetElapsedTime(started), request.Model, Url);
        span?.SetTag(GenAiAttributes.InputTokens, generation.PromptEvalCount)
            .SetTag(GenAiAttributes.OutputTokens, generation.EvalCount);
        return generation;
    }

    private async Task<Generation> GenerateOnceAsync(InferenceRequest request, CancellationToken cancellationToken)
    {
        var generate = new GenerateRequest
        {
            Model = request.Model,
            Prompt = request.Prompt ?? string.Empty,
            System = request.System,
            Stream = false,
            Options = RequestOptionsFor(request.Options),
            Format = request.Format,
        };

        var text = new StringBuilder();
        GenerateDoneResponseStream? done = null;
        await foreach (var chunk in _client.GenerateAsync(generate, cancellationToken).ConfigureAwait(false))
        {
            text.Append(chunk?.Response);
            if (chunk is GenerateDoneResponseStream { Done: true } final)
            {
                done = final;
            }
        }

        return done is null
            ? throw NoDone()
            : ToGeneration(text, done.TotalDuration, done.EvalCount, done.EvalDuration, done.LoadDuration, done.PromptEvalDuration, done.PromptEvalCount, done.DoneReason);
    }

    private async Task<Generation> ChatAsync(InferenceRequest request, CancellationToken cancellationToken)
    {
        var messages = new List<Message>(request.Messages!.Count + 1);
        if (request.System is { } system)
        {
            messages.Add(new Message(ChatRole.System, system));
        }

        messages.AddRange(request.Messages.Select(m => new Message(new ChatRole(m.Role), m.Content)));
        var chat = new ChatRequest
        {
            Model = request.Model,
            Messages = messages,
            Stream = false,
            Options = RequestOptionsFor(request.Options),
            Format = request.Format,
        };

        var text = new StringBuilder();
        ChatDoneResponseStream? done = null;
        await foreach (var chunk in _client.ChatAsync(chat, cancellationToken).ConfigureAwait(false))
        {
            text.Append(chunk?.Message?.Content);
            if (chunk is ChatDoneResponseStream { Done: true } final)
            {
                done = final;
            }
        }

        return done is null
            ? throw NoDone()
            : ToGeneration(text, done.TotalDuration, done.EvalCount, done.EvalDuration, done.LoadDuration, done.PromptEvalDuration, done.PromptEvalCount, done.DoneReason);
    }

    /// <summary>
    /// The batch's options beside the silo's <c>num_thread</c>. Every request carries the same <c>num_thread</c>:
    /// Ollama reloads the model when a request's runner options change.
    /// </summary>
    private RequestOptions? RequestOptionsFor(GenerationOptions? options)
    {
        if ((options is null || options.IsEmpty) && _settings.NumThreads is null)
        {
            return null;
        }

        // A batch's options are one instance for all its items (the worker keeps its spec), so each is converted once
        // rather than on every request.
        return options is null
            ? new RequestOptions { NumThread = _settings.NumThreads }
            : _requestOptions.TryGetValue(options, out var converted) ? converted : _requestOptions.GetValue(options, ToRequestOptions);
    }

    // GenerationOptions in JSON is Ollama's options object (SpecJson), which RequestOptions reads by the same names:
    // an option a batch can set reaches Ollama without a line here. Requests only read it, so one may serve many.
    private RequestOptions ToRequestOptions(GenerationOptions options)
    {
        var request = JsonSerializer.Deserialize<RequestOptions>(JsonSerializer.SerializeToUtf8Bytes(options, SpecJson.Options), SpecJson.Options)!;
        request.NumThread = _settings.NumThreads;
        return request;
    }

    /// <summary>The models Ollama has (<c>/api/tags</c>), as it names them.</summary>
    public async Task<IReadOnlyList<string>> ListModelsAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Value.ProbeTimeout);
        return (await _client.ListLocalModelsAsync(timeout.Token).ConfigureAwait(false)).Select(m => m.Name).ToArray();
    }

    /// <summary>
    /// Checks that Ollama lists the model (<c>/api/tags</c>) and answers a one-token request: what a broken backend
    /// (down, out of memory, without its model) fails, and a working one passes however busy it is.
    /// </summary>
    public async Task<BackendProbe> ProbeAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Value.ProbeTimeout);
        try
        {
            var models = await _client.ListLocalModelsAsync(timeout.Token).ConfigureAwait(false);
            if (!models.Any(m => ModelNames.Same(m.Name, Model)))
            {
                return new BackendProbe($"Ollama at {Url} does not have the model {Model}");
            }

            // The silo's num_thread too, so a probe never makes Ollama reload the model.
            var request = new GenerateRequest
            {
                Model = Model,
                Prompt = "Say OK.",
                Stream = false,
                Options = new RequestOptions { NumPredict = 1, NumThread = _settings.NumThreads },
            };
            await foreach (var chunk in _client.GenerateAsync(request, timeout.Token).ConfigureAwait(false))
            {
                if (chunk is GenerateDoneResponseStream { Done: true })
                {
                    return new BackendProbe(null);
                }
            }

            return new BackendProbe($"Ollama at {Url} cut its answer off");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new BackendProbe($"Ollama at {Url} did not answer within {options.Value.ProbeTimeout.TotalSeconds:0} s");
        }
        catch (HttpRequestException ex)
        {
            return new BackendProbe(ex.StatusCode is { } status
                ? $"Ollama at {Url} answered HTTP {(int)status}"
                : $"Ollama at {Url} is unreachable: {ex.Message}");
        }
    }

    // Generate's and chat's final objects carry the same figures under the same names, in two unrelated OllamaSharp types.
    private static Generation ToGeneration(
        StringBuilder text, long totalNs, int evalCount, long evalNs, long loadNs, long promptEvalNs, int promptEvalCount, string? doneReason) =>
        new(text.ToString(), FromNanoseconds(totalNs), evalCount, FromNanoseconds(evalNs), FromNanoseconds(loadNs), FromNanoseconds(promptEvalNs), promptEvalCount, doneReason);

    private static BackendResponseException NoDone() => new("Ollama's response ended without \"done\": true");

    private static TimeSpan FromNanoseconds(long ns) => TimeSpan.FromTicks(ns / 100);
}
