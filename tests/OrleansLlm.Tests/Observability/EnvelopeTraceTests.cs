using OrleansLlm.Queue;
using OrleansLlm.Tests.Infrastructure;
using StackExchange.Redis;

namespace OrleansLlm.Tests.Observability;

/// <summary>An item's traceparent rides in its envelope, after the batch id, where the Lua scripts never look.</summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Redis")]
public sealed class EnvelopeTraceTests(RedisServer redis)
{
    private const string TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    [Fact]
    public async Task TracedEnvelope_KeepsItsBatchForBothTwins_AndGivesBackItsTraceParent()
    {
        var payload = Envelope.Encode("b-1", "item \"7\"", """{"city":"Paris"}""", TraceParent);

        Assert.StartsWith(Envelope.Prefix + "b-1\",\"tp\":\"" + TraceParent + "\"", payload, StringComparison.Ordinal);
        Assert.Equal(TraceParent, Envelope.TraceParentOf(payload));
        Assert.Equal("b-1", Envelope.BatchOf(payload));
        // As enqueue.lua stores it, with the item's number after the batch: both twins still read it.
        var stored = payload.Replace("\"b-1\",", "\"b-1\",\"n\":9,", StringComparison.Ordinal);
        Assert.Equal(TraceParent, Envelope.TraceParentOf(stored));
        Assert.Equal(("b-1", "9"), (await OrleansLlm.Tests.Queue.TestScripts.EnvelopeOfAsync(redis.Connection.GetDatabase(), stored)).Single());

        Assert.Null(QueueItem.TryParse(payload, 65536, out var item));
        using (item)
        {
            Assert.Equal("b-1", item!.BatchId);
            Assert.Equal("item \"7\"", item.Id);
            Assert.Equal("Paris", item.Item.GetProperty("city").GetString());
        }
    }
}
