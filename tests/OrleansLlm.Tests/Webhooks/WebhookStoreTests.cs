using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using OrleansLlm.Options;
using OrleansLlm.Queue;
using OrleansLlm.Redis;
using OrleansLlm.Tests.Infrastructure;
using OrleansLlm.Webhooks;
using MsOptions = Microsoft.Extensions.Options.Options;

namespace OrleansLlm.Tests.Webhooks;

/// <summary>
/// The outbox's leases against a real Redis, on a fake clock the scripts read instead of Redis', so a lease runs out
/// and an event ages when the test says.
/// </summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Redis")]
public sealed class WebhookStoreTests(RedisServer redis) : IAsyncLifetime
{
    private static readonly WebhookOptions Options = new()
    {
        Url = "http://127.0.0.1:9/hooks",
        Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        LeaseDuration = TimeSpan.FromSeconds(30),
        MaxAge = TimeSpan.FromHours(1),
    };

    private readonly FakeTimeProvider _time = FakeClock.Now();
    private RedisConnection _connection = null!;
    private WebhookStore _store = null!;
    private WebhookOutbox _outbox = null!;

    public async Task InitializeAsync()
    {
        _connection = new RedisConnection(MsOptions.Create(new RedisOptions { ConnectionString = redis.ConnectionString }), TimeProvider.System, NullLogger<RedisConnection>.Instance);
        await _connection.ConnectAsync();
        _store = new WebhookStore(_connection, MsOptions.Create(new QueueOptions { Name = LlmClusterOptions.NewQueueName() }), MsOptions.Create(Options), QueueClock.From(_time));
        _outbox = new WebhookOutbox(_store, MsOptions.Create(Options), NullLogger<WebhookOutbox>.Instance);
    }

    public async Task DisposeAsync() => await _connection.DisposeAsync();

    [Fact]
    public async Task ALeasedEvent_IsNotTakenAgain_UntilItsLeaseRunsOut_ThenTheStaleHoldersFailureChangesNothing()
    {
        await _outbox.PublishAsync(WebhookEventTypes.BatchCompleted, "batch_lease", _time.GetUtcNow(), CancellationToken.None);

        var first = Assert.Single(await _store.LeaseAsync("silo-a", 16));
        Assert.Equal(1, first.Attempts);
        Assert.Empty(await _store.LeaseAsync("silo-b", 16));
        _time.Advance(Options.LeaseDuration - TimeSpan.FromMilliseconds(1));
        Assert.Empty(await _store.LeaseAsync("silo-b", 16));

        _time.Advance(TimeSpan.FromMilliseconds(1));
        var second = Assert.Single(await _store.LeaseAsync("silo-b", 16));
        Assert.Equal((first.Id, first.Body, 2), (second.Id, second.Body, second.Attempts));
        Assert.NotEqual(first.Token, second.Token);

        // silo-a's late failure is fenced: silo-b holds the event and decides.
        Assert.Equal(WebhookAttemptOutcome.Fenced, await _store.RetryAsync(first, "HTTP 500", TimeSpan.FromSeconds(1)));
        Assert.Equal(WebhookAttemptOutcome.Retrying, await _store.RetryAsync(second, "HTTP 500", TimeSpan.FromSeconds(10)));
        _time.Advance(TimeSpan.FromSeconds(10) - TimeSpan.FromMilliseconds(1));
        Assert.Empty(await _store.LeaseAsync("silo-a", 16));
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(3, Assert.Single(await _store.LeaseAsync("silo-a", 16)).Attempts);
    }

    [Fact]
    public async Task AnEventWhoseSenderVanished_PastTheMaxAge_GoesToTheDeadList_NotToAnotherSender()
    {
        await _outbox.PublishAsync(WebhookEventTypes.BatchFailed, "batch_vanished", _time.GetUtcNow(), CancellationToken.None);
        var lease = Assert.Single(await _store.LeaseAsync("silo-a", 16));

        _time.Advance(Options.MaxAge + TimeSpan.FromMilliseconds(1));

        Assert.Empty(await _store.LeaseAsync("silo-b", 16));
        var dead = Assert.Single(await _store.DeadAsync());
        Assert.Equal((lease.Id, "batch.failed", "batch_vanished", 1), (dead.Id, dead.Type, dead.Batch, dead.Attempts));
        Assert.Contains("its silo stopped", dead.Reason, StringComparison.Ordinal);
        Assert.Equal(0, await _store.PendingAsync());
    }

    [Fact]
    public async Task AFailureWhoseNextAttemptWouldPassTheMaxAge_GoesToTheDeadList_WithTheError()
    {
        await _outbox.PublishAsync(WebhookEventTypes.BatchExpired, "batch_old", _time.GetUtcNow(), CancellationToken.None);
        var lease = Assert.Single(await _store.LeaseAsync("silo-a", 16));
        _time.Advance(TimeSpan.FromMinutes(50));

        Assert.Equal(WebhookAttemptOutcome.Dead, await _store.RetryAsync(lease, "no answer: Connection refused", TimeSpan.FromMinutes(11)));

        var dead = Assert.Single(await _store.DeadAsync());
        Assert.Equal("gave up after 1 attempt in 3000 s (the next would pass the max age): no answer: Connection refused", dead.Reason);
        Assert.Equal(_time.GetUtcNow().ToUnixTimeMilliseconds(), dead.Died);
        Assert.Equal(0, await _store.PendingAsync());
    }

    [Fact]
    public async Task WithNoUrl_PublishingStoresNothing_AndABadTypeOrBatchIdIsRefused()
    {
        var off = new WebhookOutbox(_store, MsOptions.Create(new WebhookOptions()), NullLogger<WebhookOutbox>.Instance);

        Assert.False(await off.PublishAsync(WebhookEventTypes.BatchCompleted, "batch_off", _time.GetUtcNow(), CancellationToken.None));
        Assert.Equal(0, await _store.PendingAsync());
        await Assert.ThrowsAsync<ArgumentException>(() => _outbox.PublishAsync("batch.done", "batch_x", _time.GetUtcNow(), CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => _outbox.PublishAsync(WebhookEventTypes.BatchFailed, "no spaces allowed", _time.GetUtcNow(), CancellationToken.None));
    }
}
