using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace OrleansLlm.Tests.Webhooks;

/// <summary>A request the receiver got: when (since it started), its headers and body, and the status it answered (null: none, held or aborted).</summary>
public sealed record ReceivedWebhook(TimeSpan At, IHeaderDictionary Headers, string Body, int? Status);

/// <summary>
/// A webhook receiver over real HTTP (Kestrel on a free loopback port): it records every request and answers each
/// with what <c>answer</c> says for its number (0 for the first), which may also hold the request until released.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Func<int, CancellationToken, Task<int>> _answer;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Lock _gate = new();
    private readonly List<ReceivedWebhook> _received = [];
    private int _count;

    private WebhookReceiver(WebApplication app, Uri url, Func<int, CancellationToken, Task<int>> answer)
    {
        _app = app;
        Url = url;
        _answer = answer;
    }

    public Uri Url { get; }

    /// <summary>Every request so far, in the order they arrived.</summary>
    public IReadOnlyList<ReceivedWebhook> Received
    {
        get
        {
            lock (_gate)
            {
                return [.. _received];
            }
        }
    }

    /// <summary>Requests that arrived, answered or not: a held one counts as soon as it arrives.</summary>
    public int Arrived => Volatile.Read(ref _count);

    /// <param name="answer">The status for request number N (0 for the first); it may wait, e.g. to hold a request.</param>
    public static async Task<WebhookReceiver> StartAsync(Func<int, CancellationToken, Task<int>> answer)
    {
        var url = new Uri($"http://127.0.0.1:{FreePorts.Next()}/hooks/batches");
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{url.Port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new WebhookReceiver(app, url, answer);
        app.MapPost(url.AbsolutePath, receiver.HandleAsync);
        await app.StartAsync();
        return receiver;
    }

    /// <summary>Answers every request with <paramref name="status"/>.</summary>
    public static Task<WebhookReceiver> StartAsync(int status) => StartAsync((_, _) => Task.FromResult(status));

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        // Copied: Kestrel reuses a request's header collection once the request ends.
        var headers = new HeaderDictionary(context.Request.Headers.ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase));
        int number;
        lock (_gate)
        {
            number = _received.Count;
            _received.Add(new ReceivedWebhook(_clock.Elapsed, headers, body, null));
            Interlocked.Increment(ref _count);
        }

        var status = await _answer(number, context.RequestAborted);
        lock (_gate)
        {
            _received[number] = _received[number] with { Status = status };
        }

        context.Response.StatusCode = status;
    }
}
