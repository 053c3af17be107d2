using System.Globalization;
using System.Text;
using System.Text.Unicode;

namespace OrleansLlm.Client.Input;

/// <summary>
/// Reads a UTF-8 file one line at a time, holding no more than the line being read, and names every line whose bytes
/// are not valid UTF-8. A <see cref="StreamReader"/> puts U+FFFD in their place without a word, which would change the
/// text sent, and the ids, of the rows they are in.
/// </summary>
/// <remarks>
/// Lines end at <c>\n</c>, <c>\r\n</c> or a lone <c>\r</c>, as with <see cref="TextReader.ReadLine"/>. In UTF-8 those
/// bytes never occur inside another character, so lines are split before they are decoded, and a bad byte is found
/// on its own line. A UTF-8 byte-order mark is skipped; a UTF-16 or UTF-32 one is refused, since such a file is not
/// UTF-8 at all. A line longer than the limit is named and passed over unread, so no file is ever held whole.
/// </remarks>
public sealed class Utf8LineReader : IDisposable
{
    /// <summary>The longest line read: 16 MiB, far more than a prompt a model takes.</summary>
    public const int DefaultMaxLineBytes = 16 * 1024 * 1024;

    private const int InitialBufferBytes = 64 * 1024;

    private readonly Stream _stream;
    private readonly string _name;
    private readonly int _maxLineBytes;
    private readonly int _capacity;
    private byte[] _buffer;

    // The line being read starts at _start; the bytes read so far end at _end.
    private int _start;
    private int _end;
    private bool _endOfStream;
    private bool _started;
    private int _number;

    /// <param name="name">The file's name, for messages.</param>
    public Utf8LineReader(Stream stream, string name, int maxLineBytes = DefaultMaxLineBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineBytes, 1);
        _stream = stream;
        _name = name;
        _maxLineBytes = maxLineBytes;
        // Room for the longest line and the line break after it, so its end is seen before it is dropped.
        _capacity = (int)Math.Min(Array.MaxLength, Math.Max(maxLineBytes + 2L, 4));
        _buffer = new byte[Math.Min(InitialBufferBytes, _capacity)];
    }

    /// <summary>Opens <paramref name="path"/> for reading; the reader closes it.</summary>
    public static Utf8LineReader Open(string path, int maxLineBytes = DefaultMaxLineBytes) =>
        new(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.SequentialScan), path, maxLineBytes);

    /// <returns>The next line, or null at the end of the file.</returns>
    /// <exception cref="InvalidDataException">The file starts with a UTF-16 or UTF-32 byte-order mark.</exception>
    public async ValueTask<TextLine?> ReadLineAsync(CancellationToken cancellationToken)
    {
        if (!_started)
        {
            await StartAsync(cancellationToken);
        }

        // How much of the line was searched for its end already, and how much of a line too long to hold was dropped.
        var scanned = 0;
        var dropped = 0L;
        while (true)
        {
            var at = _buffer.AsSpan(_start + scanned, _end - _start - scanned).IndexOfAny((byte)'\n', (byte)'\r');
            if (at >= 0)
            {
                var end = _start + scanned + at;
                if (_buffer[end] == '\r' && end + 1 == _end && !_endOfStream)
                {
                    // A '\r' last in what was read may be the first half of "\r\n". A line too long already is
                    // dropped up to it, which leaves room to read on.
                    if (end - _start > _maxLineBytes)
                    {
                        dropped += end - _start;
                        _start = end;
                    }

                    scanned = end - _start;
                    await FillAsync(cancellationToken);
                    continue;
                }

                return TakeLine(end, dropped);
            }

            scanned = _end - _start;
            if (_endOfStream)
            {
                return TakeLastLine(dropped);
            }

            if (scanned > _maxLineBytes)
            {
                // Too long to hold: what was read of it goes, and the rest follows until its end.
                dropped += scanned;
                _start = _end;
                scanned = 0;
            }

            await FillAsync(cancellationToken);
        }
    }

    public void Dispose() => _stream.Dispose();

    /// <summary>The line that ends at the line break at <paramref name="end"/>; the next starts after the break.</summary>
    private TextLine TakeLine(int end, long dropped)
    {
        var lineBreak = _buffer[end] == '\n' ? "\n" : end + 1 < _end && _buffer[end + 1] == '\n' ? "\r\n" : "\r";
        var line = Line(end - _start, lineBreak, dropped);
        _start = end + lineBreak.Length;
        return line;
    }

    /// <returns>The last line, which no line break ends; null when the file ended with one.</returns>
    private TextLine? TakeLastLine(long dropped)
    {
        if (_end == _start && dropped == 0)
        {
            return null;
        }

        var last = Line(_end - _start, string.Empty, dropped);
        _start = _end;
        return last;
    }

    private TextLine Line(int length, string lineBreak, long dropped)
    {
        _number++;
        if (dropped + length > _maxLineBytes)
        {
            return new TextLine(_number, string.Empty, lineBreak, $"the line is longer than {Size(_maxLineBytes)}, more than any item may be");
        }

        var bytes = _buffer.AsSpan(_start, length);
        var text = Encoding.UTF8.GetString(bytes);
        return Utf8.IsValid(bytes) ? new TextLine(_number, text, lineBreak) : new TextLine(_number, text, lineBreak, Invalid(bytes));
    }

    private static string Invalid(ReadOnlySpan<byte> bytes)
    {
        // The column is where an editor shows the bad byte: one past the characters decoded before it.
        Utf8.ToUtf16(bytes, new char[bytes.Length], out var valid, out var chars, replaceInvalidSequences: false);
        return string.Create(CultureInfo.InvariantCulture,
            $"not valid UTF-8 (byte 0x{bytes[valid]:X2} at column {chars + 1}); is the file in another encoding, such as Latin-1? save it as UTF-8");
    }

    private async Task StartAsync(CancellationToken cancellationToken)
    {
        _started = true;
        while (_end < 4 && !_endOfStream)
        {
            await FillAsync(cancellationToken);
        }

        var head = _buffer.AsSpan(0, _end);
        if (head.StartsWith("\uFEFF"u8))
        {
            _start = 3;
        }
        else if (head.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xFE]) || head.StartsWith((ReadOnlySpan<byte>)[0xFE, 0xFF]) || head.StartsWith((ReadOnlySpan<byte>)[0, 0, 0xFE, 0xFF]))
        {
            throw new InvalidDataException($"{_name}: the file is UTF-16 or UTF-32 (it starts with their byte-order mark), not UTF-8; save it as UTF-8");
        }
    }

    /// <summary>Reads more of the stream after what is held, first moving the line being read to the front of the buffer, or to a larger one.</summary>
    private async Task FillAsync(CancellationToken cancellationToken)
    {
        var held = _end - _start;
        if (_start > 0)
        {
            _buffer.AsSpan(_start, held).CopyTo(_buffer);
            (_start, _end) = (0, held);
        }

        if (_end == _buffer.Length)
        {
            Array.Resize(ref _buffer, (int)Math.Min(_buffer.Length * 2L, _capacity));
        }

        var read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
        _end += read;
        _endOfStream = read == 0;
    }

    private static string Size(int bytes) =>
        bytes % (1024 * 1024) == 0 ? $"{bytes / (1024 * 1024)} MiB" : string.Create(CultureInfo.InvariantCulture, $"{bytes:N0} bytes");
}
