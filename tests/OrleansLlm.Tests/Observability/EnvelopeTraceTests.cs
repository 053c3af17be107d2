using System.Diagnostics;
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

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("not-a-traceparent")]
    [InlineData("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\",\"b\":\"evil")]
    [InlineData("00-00000000000000000000000000000000-b7ad6b7169203331-01")]
    public void InvalidTraceParent_IsLeftOut_AndTheItemStartsATraceOfItsOwn(string? traceParent)
    {
        var payload = Envelope.Encode("b-1", "x", "{}", traceParent);

        Assert.Equal(Envelope.Encode("b-1", "x", "{}"), payload);
        Assert.Null(Envelope.TraceParentOf(payload));
    }

    [Theory]
    [InlineData("""{"olm":{"b":"b-1","id":"x"},"item":{}}""")]
    [InlineData("""{"city":"Paris","tp":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}""")]
    [InlineData("""{"olm":{"b":"b-1","tp":"unterminated""")]
    [InlineData("not json")]
    public void PayloadWithoutTraceParent_HasNone(string payload) => Assert.Null(Envelope.TraceParentOf(payload));

    [Fact]
    public void TraceParentOfAnEnvelope_NamesTheSpanThatWroteIt()
    {
        using var source = new ActivitySource("envelope-trace-test");
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s == source,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        using var span = source.StartActivity("submit")!;

        var payload = Envelope.Encode("b-1", "x", "{}", span.Id);

        Assert.True(ActivityContext.TryParse(Envelope.TraceParentOf(payload), null, out var context));
        Assert.Equal(span.TraceId, context.TraceId);
        Assert.Equal(span.SpanId, context.SpanId);
    }
}
