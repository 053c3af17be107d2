using System.Text;
using Microsoft.Extensions.Options;
using OllamaSharp;
using OllamaSharp.Models;
using OrleansLlm.Options;
using OrleansLlm.Telemetry;

namespace OrleansLlm.Ollama;

/// <summary>One answer from Ollama with the figures it reports about the work.</summary>
/// <param name="TotalDuration">Ollama's <c>total_duration</c>: from the request's arrival to its end.</param>
/// <param name="EvalCount">Ollama's <c>eval_count</c>: tokens generated.</param>
/// <param name="EvalDuration">Ollama's <c>eval_duration</c>.</param>
/// <param name="LoadDuration">Ollama's <c>load_duration</c>.</param>
/// <param name="PromptEvalDuration">Ollama's <c>prompt_eval_duration</c>.</param>
/// <param name="PromptEvalCount">Ollama's <c>prompt_eval_count</c>: prompt tokens.</param>
public sealed record Generation(
    string Text,
    TimeSpan TotalDuration,
    int EvalCount,
    TimeSpan EvalDuration,
    TimeSpan LoadDuration = default,
    TimeSpan PromptEvalDuration = default,
    int PromptEvalCount = 0)
{
    /// <summary>
    /// Time the request spent waiting inside Ollama for a free slot. Ollama counts that wait in
    /// <c>total_duration</c> but in none of its parts, so it is what is left over: the one signal that we send
    /// more than the model serves in parallel (Ollama never pushes back; it queues silently).
    /// </summary>
    public TimeSpan QueueWait => TotalDuration - LoadDuration - PromptEvalDuration - EvalDuration is { Ticks: > 0 } wait ? wait : TimeSpan.Zero;

    /// <summary>Time the model spent on this request (prompt and generation).</summary>
    public TimeSpan ServiceTime => PromptEvalDuration + EvalDuration;
}

/// <summary>Thrown when Ollama answers but the answer is unusable, e.g. it lacks <c>"done": true</c>.</summary>
public sealed class OllamaResponseException(string message) : Exception(message);

/// <summary>Calls the silo's co-located Ollama through OllamaSharp, non-streaming; each call is measured and traced.</summary>
public sealed class OllamaGenerator(HttpClient http, IOptions<OllamaOptions> options, OllamaMetrics metrics, TimeProvider time)
{
    private readonly OllamaApiClient _client = new(http, options.Value.TaggedModel);

    /// <summary>The model, always with its tag (<c>:latest</c> when configured without one).</summary>
    public string Model => options.Value.TaggedModel;

    public Uri Url => http.BaseAddress!;

    public async Task<Generation> GenerateAsync(string prompt, CancellationToken cancellationToken)
    {
        using var span = OrleansLlmActivities.StartGeneration(Model, Url);
        var started = time.GetTimestamp();
        Generation generation;
        try
        {
            generation = await CallAsync(prompt, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            var reason = FailureReasons.Of(ex);
            metrics.Failed(time.GetElapsedTime(started), Model, Url, reason);
            span.SetFailure(reason, ex.Message);
            throw;
        }

        metrics.Answered(generation, time.GetElapsedTime(started), Model, Url);
        span?.SetTag(GenAiAttributes.InputTokens, generation.PromptEvalCount)
            .SetTag(GenAiAttributes.OutputTokens, generation.EvalCount);
        return generation;
    }

    private async Task<Generation> CallAsync(string prompt, CancellationToken cancellationToken)
    {
        var request = new GenerateRequest { Model = Model, Prompt = prompt, Stream = false };
        if (options.Value.NumThreads is { } threads)
        {
            // The same value on every request: Ollama reloads the model when a request's runner options change.
            request.Options = new RequestOptions { NumThread = threads };
        }

        var text = new StringBuilder();
        GenerateDoneResponseStream? done = null;
        await foreach (var chunk in _client.GenerateAsync(request, cancellationToken).ConfigureAwait(false))
        {
            text.Append(chunk?.Response);
            if (chunk is GenerateDoneResponseStream { Done: true } final)
            {
                done = final;
            }
        }

        if (done is null)
        {
            throw new OllamaResponseException("Ollama's response ended without \"done\": true");
        }

        return new Generation(
            text.ToString(),
            FromNanoseconds(done.TotalDuration),
            done.EvalCount,
            FromNanoseconds(done.EvalDuration),
            FromNanoseconds(done.LoadDuration),
            FromNanoseconds(done.PromptEvalDuration),
            done.PromptEvalCount);
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

            var request = new GenerateRequest { Model = Model, Prompt = "Say OK.", Stream = false, Options = new RequestOptions { NumPredict = 1 } };
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

    private static TimeSpan FromNanoseconds(long ns) => TimeSpan.FromTicks(ns / 100);
}
