-- wrk script: GET /notes/<id> over the ids in the file passed after `--`, in a fixed shuffled order per thread.
local ids = {}
local next_index = 1

function init(args)
  for line in io.lines(args[1]) do
    ids[#ids + 1] = line
  end
  next_index = math.random(#ids)
end

function request()
  next_index = next_index % #ids + 1
  return wrk.format("GET", "/notes/" .. ids[next_index])
end
