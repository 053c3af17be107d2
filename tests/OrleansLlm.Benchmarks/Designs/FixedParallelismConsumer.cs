using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text;
using System.Text.Json;
using OllamaSharp;
using OllamaSharp.Models;
using OpenAI;
using OpenAI.Chat;
using OrleansLlm.Benchmarks.Infrastructure;
using OrleansLlm.Options;
using OrleansLlm.Worker;
using StackExchange.Redis;

namespace OrleansLlm.Benchmarks.Designs;

/// <summary>
/// A workshop-style consumer (think one Bento process): a fixed number of loops, each popping one item from the
/// ready list, asking one of the backends it can reach, and writing the result. No leases: an item popped by a
/// consumer that dies or is stopped mid-call is gone, which is exactly what the workshop's designs risk.
/// </summary>
public sealed class FixedParallelismConsumer : IAsyncDisposable
{
    // HSETNX keeps the first result per item; a second one only bumps the duplicates counter, as the silos' script does.
    // The silos' idle polling (WorkerOptions defaults), so no design starts faster only because it polls harder.
    private static readonly WorkerOptions Polling = new();

    private readonly string _name;
    private readonly DesignContext _context;
    private readonly HttpClient[] _http;
    private readonly OllamaApiClient?[] _clients;

    // The OpenAI-compatible backends' clients (null for Ollama ones), index-aligned with _http.
    private readonly ChatClient?[] _chats;
    private readonly CancellationTokenSource _stop;
    private readonly Task _loops;

    /// <param name="reachable">The backends this consumer sends to; with several, each request picks one at random.</param>
    public FixedParallelismConsumer(string name, DesignContext context, IReadOnlyList<Uri> reachable, int parallelism, int seed, CancellationToken cancellationToken)
    {
        _name = name;
        _context = context;
        // One connection pool per backend per consumer, as separate processes would have.
        _http = reachable.Select(url => new HttpClient(context.Recorder.CreateHandler(new SocketsHttpHandler()))
        {
            BaseAddress = url,
            Timeout = context.CallTimeout,
        }).ToArray();
        _clients = _http.Select(h => context.IsOpenAi(h.BaseAddress!) ? null : new OllamaApiClient(h, OllamaDefaults.Model)).ToArray();
        _chats = _http.Select(h => context.IsOpenAi(h.BaseAddress!) ? ChatClientOf(h) : null).ToArray();
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _loops = Task.WhenAll(Enumerable.Range(0, parallelism).Select(i => Task.Run(() => LoopAsync(new Random(seed * 1009 + i), _stop.Token))));
    }

    private IDatabase Db => _context.Redis.Db;

    private async Task LoopAsync(Random random, CancellationToken stop)
    {
        // The silos' own back-off, jitter included: every design polls an empty list alike.
        var idle = new IdleBackoff(Polling.PollMinDelay, Polling.PollMaxDelay, Random.Shared);
        while (!stop.IsCancellationRequested)
        {
            RedisValue payload;
            try
            {
                payload = await Db.ListLeftPopAsync(_context.Keys.Ready);
            }
            catch (RedisException)
            {
                await PauseAsync(Polling.PollMaxDelay, stop);
                continue;
            }

            if (payload.IsNull)
            {
                await PauseAsync(idle.Next(), stop);
                continue;
            }

            idle.Reset();
            try
            {
                await ProcessAsync(payload!, random, stop);
            }
            catch (RedisException)
            {
                // The result could not be written: the item has no result and the run will report it lost.
                await PauseAsync(Polling.PollMaxDelay, stop);
            }
        }
    }

    private async Task ProcessAsync(string payload, Random random, CancellationToken stop)
    {
        using var item = JsonDocument.Parse(payload);
        var id = ItemIds.Of(item.RootElement, payload);
        var prompt = Workload.Template.Render(item.RootElement, out _) ?? throw new InvalidOperationException($"item {id} can't be rendered");
        var backend = _clients.Length == 1 ? 0 : random.Next(_clients.Length);
        string answer;
        try
        {
            answer = _chats[backend] is { } chat
                ? await CompleteChatAsync(chat, prompt, stop)
                : await GenerateAsync(_clients[backend]!, prompt, stop);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return; // stopped mid-call: the item is lost, and the run reports it
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or InvalidOperationException or ClientResultException)
        {
            // Not part of any scenario (no faults are injected), but never drop an item silently: put it back.
            await Db.ListLeftPushAsync(_context.Keys.Ready, payload);
            await PauseAsync(TimeSpan.FromMilliseconds(100), stop);
            return;
        }

        var result = JsonSerializer.Serialize(new
        {
            id,
            mayor = answer.Trim(),
            meta = new { consumer = _name, backend = _http[backend].BaseAddress!.Authority, completed_at = DateTimeOffset.UtcNow },
        });
        await RawResults.AddAsync(Db, _context.Keys, id, result);
    }

    /// <summary>The same non-streaming call as the silos' OllamaBackend.</summary>
    private static async Task<string> GenerateAsync(OllamaApiClient client, string prompt, CancellationToken cancellationToken)
    {
        var request = new GenerateRequest { Model = OllamaDefaults.Model, Prompt = prompt, Stream = false };
        var text = new StringBuilder();
        var done = false;
        await foreach (var chunk in client.GenerateAsync(request, cancellationToken))
        {
            text.Append(chunk?.Response);
            done |= chunk is GenerateDoneResponseStream { Done: true };
        }

        return done ? text.ToString() : throw new InvalidOperationException("Ollama's response ended without \"done\": true");
    }

    /// <summary>
    /// The call D's silos make of an OpenAI-compatible server (OpenAiCompatibleBackend): the prompt as a user message to
    /// <c>/v1/chat/completions</c>, through the official SDK on this consumer's HttpClient, with no retries.
    /// </summary>
    private static async Task<string> CompleteChatAsync(ChatClient chat, string prompt, CancellationToken cancellationToken)
    {
        var result = await chat.CompleteChatAsync([new UserChatMessage(prompt)], cancellationToken: cancellationToken);
        return result.Value.Content.Count > 0 ? result.Value.Content[0].Text : throw new InvalidOperationException("the chat completion had no content");
    }

    private static ChatClient ChatClientOf(HttpClient http) => new(OllamaDefaults.Model, new ApiKeyCredential("EMPTY"), new OpenAIClientOptions
    {
        Endpoint = new Uri(http.BaseAddress!.AbsoluteUri.TrimEnd('/') + "/v1"),
        Transport = new HttpClientPipelineTransport(http),
        RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
    });

    private static async Task PauseAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            // The loops end within one poll delay or one cancelled HTTP call; bounded in case one doesn't.
            await _loops.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException)
        {
        }
        finally
        {
            foreach (var http in _http)
            {
                http.Dispose();
            }

            _stop.Dispose();
        }
    }
}

/// <summary>The model every design asks for: the silos' default.</summary>
public static class OllamaDefaults
{
    public static readonly string Model = new OllamaOptions().Model;
}
