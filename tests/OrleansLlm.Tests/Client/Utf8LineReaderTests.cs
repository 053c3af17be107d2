using System.Text;
using OrleansLlm.Client.Input;

namespace OrleansLlm.Tests.Client;

/// <summary>Lines as a file has them, whatever the line breaks and however the bytes arrive; bad ones named, never mended.</summary>
[Trait("Category", "Unit")]
public sealed class Utf8LineReaderTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4096)]
    public async Task Lines_EndAtLfCrLfOrALoneCr_HoweverTheBytesArrive(int chunk)
    {
        var lines = await ReadAsync(Encoding.UTF8.GetBytes("a,b\r\nSão\rŌsaka 日本\n\n\r\nlast"), chunk);

        Assert.Equal(
            [(1, "a,b", "\r\n"), (2, "São", "\r"), (3, "Ōsaka 日本", "\n"), (4, "", "\n"), (5, "", "\r\n"), (6, "last", "")],
            lines.Select(l => (l.Number, l.Text, l.Break)));
        Assert.All(lines, l => Assert.Null(l.Error));
    }

    [Fact]
    public async Task AFinalLineBreak_EndsTheLastLine_WithoutAnEmptyOneAfterIt()
    {
        Assert.Equal(["a", "b"], (await ReadAsync("a\nb\n"u8.ToArray())).Select(l => l.Text));
        Assert.Equal(["a"], (await ReadAsync("a\r"u8.ToArray())).Select(l => l.Text));
        Assert.Empty(await ReadAsync([]));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4096)]
    public async Task InvalidUtf8_IsNamedOnItsOwnLine_WithTheByteAndColumn_AndTheLinesAroundItAreRead(int chunk)
    {
        // "São" as Latin-1 writes it; then a character cut short at the end of a line; then a stray continuation byte.
        byte[] bytes = [.. "id,city\n1,S"u8, 0xE3, .. "o Paulo\n2,日"u8, 0xE6, 0x9C, .. "\r\n3,Lima\n"u8, 0x80, .. "4,x"u8];

        var lines = await ReadAsync(bytes, chunk);

        Assert.Equal([null, Invalid("0xE3", 4), Invalid("0xE6", 4), null, Invalid("0x80", 1)], lines.Select(l => l.Error));
        Assert.Equal([1, 2, 3, 4, 5], lines.Select(l => l.Number));
        Assert.Equal(("3,Lima", "4,x"), (lines[3].Text, lines[4].Text[1..]));
    }

    [Fact]
    public async Task AUtf8ByteOrderMark_IsSkipped_AUtf16One_RefusesTheFile()
    {
        Assert.Equal("city", Assert.Single(await ReadAsync([0xEF, 0xBB, 0xBF, .. "city"u8])).Text);

        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => ReadAsync([.. Encoding.Unicode.GetPreamble(), .. Encoding.Unicode.GetBytes("city\n")]));
        Assert.Equal("cities.csv: the file is UTF-16 or UTF-32 (it starts with their byte-order mark), not UTF-8; save it as UTF-8", ex.Message);
    }

    [Theory]
    [InlineData(1, "\n")]
    [InlineData(7, "\r\n")]
    [InlineData(4096, "\r")]
    public async Task ALineLongerThanTheLimit_IsNamedAndPassedOver_WithoutBeingHeld(int chunk, string lineBreak)
    {
        var bytes = Encoding.UTF8.GetBytes($"short{lineBreak}{new string('x', 100)}{lineBreak}{new string('y', 64)}{lineBreak}{new string('z', 65)}");

        var lines = await ReadAsync(bytes, chunk, maxLineBytes: 64);

        Assert.Equal(
            [(1, "short", null), (2, "", "the line is longer than 64 bytes, more than any item may be"), (3, new string('y', 64), null), (4, "", "the line is longer than 64 bytes, more than any item may be")],
            lines.Select(l => (l.Number, l.Text, l.Error)));
    }

    private static string Invalid(string value, int column) =>
        $"not valid UTF-8 (byte {value} at column {column}); is the file in another encoding, such as Latin-1? save it as UTF-8";

    private static async Task<List<TextLine>> ReadAsync(byte[] bytes, int chunk = 4096, int maxLineBytes = Utf8LineReader.DefaultMaxLineBytes)
    {
        using var reader = new Utf8LineReader(new TrickleStream(bytes, chunk), "cities.csv", maxLineBytes);
        var lines = new List<TextLine>();
        while (await reader.ReadLineAsync(CancellationToken.None) is { } line)
        {
            lines.Add(line);
        }

        return lines;
    }

    /// <summary>Hands out at most <c>chunk</c> bytes per read, as a pipe or a slow disk may, so lines and characters straddle reads.</summary>
    private sealed class TrickleStream(byte[] bytes, int chunk) : MemoryStream(bytes)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, chunk)], cancellationToken);
    }
}
